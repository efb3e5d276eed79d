// Command ociimage writes the OCI image of wotmq from scratch, without a
// base image or a container runtime (package packaging, WriteImage):
//
//	CGO_ENABLED=0 go build -o dist/wotmq ./cmd/wotmq
//	go run ./packaging/ociimage -bin dist/wotmq -out dist/wotmq-oci
//	podman pull oci:dist/wotmq-oci      # or skopeo copy oci:dist/wotmq-oci docker-daemon:wotmq:latest
//
// make image does both. The image's version and time come from the
// binary's build information (its VCS revision's time), so that the same
// commit gives the same image.
package main

import (
	"debug/buildinfo"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/wotmq/wotmq/packaging"
)

func main() {
	var o packaging.ImageOptions
	flag.StringVar(&o.Binary, "bin", "dist/wotmq", "static linux binary of wotmq (CGO_ENABLED=0)")
	flag.StringVar(&o.Config, "config", "packaging/wotmq.toml", "config file, installed as "+packaging.ImageConfig)
	flag.StringVar(&o.CACerts, "ca", "/etc/ssl/certs/ca-certificates.crt", "CA certificates (PEM) for the image")
	flag.StringVar(&o.Out, "out", "dist/wotmq-oci", "directory of the OCI image layout to write (must not exist)")
	flag.Parse()
	bi, err := buildinfo.ReadFile(o.Binary)
	if err != nil {
		fail(err)
	}
	o.Version, o.Arch = bi.Main.Version, "amd64"
	for _, s := range bi.Settings {
		switch s.Key {
		case "GOARCH":
			o.Arch = s.Value
		case "vcs.time":
			o.Created, _ = time.Parse(time.RFC3339, s.Value)
		case "CGO_ENABLED":
			if s.Value != "0" {
				fail(fmt.Errorf("%s was built with cgo: the image has no C library; build it with CGO_ENABLED=0", o.Binary))
			}
		}
	}
	if o.Version == "" || o.Version == "(devel)" {
		o.Version = "dev"
	}
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fail(fmt.Errorf("SOURCE_DATE_EPOCH: %w", err))
		}
		o.Created = time.Unix(sec, 0)
	}
	digest, err := packaging.WriteImage(o)
	if err != nil {
		fail(err)
	}
	fmt.Printf("%s: wotmq:%s (%s, linux/%s)\n", o.Out, o.Version, digest, o.Arch)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ociimage:", err)
	os.Exit(1)
}
