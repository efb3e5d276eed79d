package packaging

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The OCI image of wotmq is built from scratch, without a base image to
// pull and without a container runtime: one layer holding the static
// binary, the CA certificates, a passwd and group file naming the
// non-root user wotmq (65532), the packaged config and the data directory
// (a volume), written as an OCI image layout (a directory that podman,
// skopeo, crane or docker can load: "podman pull oci:DIR"). Every build of
// the same inputs gives the same bytes.

// ImageOptions says what goes into the image.
type ImageOptions struct {
	Binary  string    // a static (CGO_ENABLED=0) linux binary of wotmq
	Config  string    // the config file, installed as /etc/wotmq/wotmq.toml
	CACerts string    // a PEM bundle, installed as /etc/ssl/certs/ca-certificates.crt
	Arch    string    // GOARCH of Binary, e.g. amd64
	Version string    // the image's version label (wotmq version)
	Created time.Time // the time of every file and of the image (reproducible: the commit's)
	Out     string    // the directory of the OCI image layout; it must not exist
}

// ImageUID is the user and group the hub runs as in the image.
const ImageUID = 65532

// Paths in the image.
const (
	ImageBinary  = "/usr/bin/wotmq"
	ImageConfig  = "/etc/wotmq/wotmq.toml"
	ImageDataDir = "/var/lib/wotmq"
)

// WriteImage writes the image as an OCI image layout into o.Out and
// returns the digest of its manifest.
func WriteImage(o ImageOptions) (string, error) {
	if _, err := os.Stat(o.Out); err == nil {
		return "", fmt.Errorf("packaging: %s exists", o.Out)
	}
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return "", err
	}
	cfg, err := os.ReadFile(o.Config)
	if err != nil {
		return "", err
	}
	ca, err := os.ReadFile(o.CACerts)
	if err != nil {
		return "", err
	}
	layer, diffID, err := imageLayer(o.Created, []imageFile{
		{path: "etc/", dir: true, mode: 0o755},
		{path: "etc/passwd", mode: 0o644, body: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nwotmq:x:%d:%d:wotmq hub:%s:/sbin/nologin\n", ImageUID, ImageUID, ImageDataDir))},
		{path: "etc/group", mode: 0o644, body: []byte(fmt.Sprintf("root:x:0:\nwotmq:x:%d:\n", ImageUID))},
		{path: "etc/ssl/", dir: true, mode: 0o755},
		{path: "etc/ssl/certs/", dir: true, mode: 0o755},
		{path: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, body: ca},
		{path: "etc/wotmq/", dir: true, mode: 0o755},
		{path: "etc/wotmq/wotmq.toml", mode: 0o644, body: cfg},
		{path: "tmp/", dir: true, mode: 0o1777},
		{path: "usr/", dir: true, mode: 0o755},
		{path: "usr/bin/", dir: true, mode: 0o755},
		{path: "usr/bin/wotmq", mode: 0o755, body: bin},
		{path: "var/", dir: true, mode: 0o755},
		{path: "var/lib/", dir: true, mode: 0o755},
		{path: "var/lib/wotmq/", dir: true, mode: 0o700, uid: ImageUID},
	})
	if err != nil {
		return "", err
	}
	config := map[string]any{
		"created":      o.Created.UTC().Format(time.RFC3339),
		"architecture": o.Arch,
		"os":           "linux",
		"config": map[string]any{
			"User":       fmt.Sprintf("%d:%d", ImageUID, ImageUID),
			"Entrypoint": []string{ImageBinary},
			"Cmd":        []string{"serve", "--config", ImageConfig},
			"Env":        []string{"PATH=/usr/bin"},
			"WorkingDir": ImageDataDir,
			"Volumes":    map[string]any{ImageDataDir: map[string]any{}},
			"ExposedPorts": map[string]any{"1883/tcp": map[string]any{}, "9001/tcp": map[string]any{}, "8080/tcp": map[string]any{},
				"8883/tcp": map[string]any{}, "9443/tcp": map[string]any{}, "8443/tcp": map[string]any{}},
			"StopSignal": "SIGTERM",
			"Labels": map[string]string{
				"org.opencontainers.image.title":         "wotmq",
				"org.opencontainers.image.description":   "MQTT 5 Web of Things hub",
				"org.opencontainers.image.version":       o.Version,
				"org.opencontainers.image.source":        "https://github.com/wotmq/wotmq",
				"org.opencontainers.image.documentation": "https://github.com/wotmq/wotmq/blob/main/docs/operations.md",
			},
		},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{diffID}},
		"history": []map[string]any{{"created": o.Created.UTC().Format(time.RFC3339), "created_by": "wotmq packaging.WriteImage"}},
	}
	cfgBlob, err := json.Marshal(config)
	if err != nil {
		return "", err
	}
	manifest := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor("application/vnd.oci.image.config.v1+json", cfgBlob),
		"layers":        []any{descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer)},
	}
	manBlob, err := json.Marshal(manifest)
	if err != nil {
		return "", err
	}
	manDesc := descriptor("application/vnd.oci.image.manifest.v1+json", manBlob)
	manDesc["platform"] = map[string]string{"architecture": o.Arch, "os": "linux"}
	manDesc["annotations"] = map[string]string{"org.opencontainers.image.ref.name": "wotmq:" + o.Version}
	index, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []any{manDesc}})
	if err != nil {
		return "", err
	}
	blobs := filepath.Join(o.Out, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return "", err
	}
	for _, b := range [][]byte{layer, cfgBlob, manBlob} {
		if err := os.WriteFile(filepath.Join(blobs, hexDigest(b)), b, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(o.Out, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(o.Out, "index.json"), index, 0o644); err != nil {
		return "", err
	}
	return "sha256:" + hexDigest(manBlob), nil
}

type imageFile struct {
	path string
	dir  bool
	mode int64
	uid  int
	body []byte
}

// imageLayer is the gzipped tar of files and the digest of the tar itself
// (the layer's diff ID).
func imageLayer(mtime time.Time, files []imageFile) (gz []byte, diffID string, err error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, f := range files {
		h := &tar.Header{Name: f.path, Mode: f.mode, Uid: f.uid, Gid: f.uid, ModTime: mtime.UTC(), Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return out.Bytes(), "sha256:" + hexDigest(raw.Bytes()), nil
}

func hexDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func descriptor(mediaType string, blob []byte) map[string]any {
	return map[string]any{"mediaType": mediaType, "digest": "sha256:" + hexDigest(blob), "size": len(blob)}
}
