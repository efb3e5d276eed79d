package packaging_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/packaging"
)

// staticWotmq builds wotmq as the image takes it (CGO_ENABLED=0).
func staticWotmq(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "wotmq")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/wotmq")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// blob reads a blob of an OCI image layout, checking its digest.
func blob(t *testing.T, dir, digest string) []byte {
	t.Helper()
	hexd, ok := strings.CutPrefix(digest, "sha256:")
	if !ok {
		t.Fatalf("digest %q", digest)
	}
	b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", hexd))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != hexd {
		t.Fatalf("blob %s does not match its digest", digest)
	}
	return b
}

type ociDescriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int    `json:"size"`
}

// TestOCIImage builds the image from scratch as make image does and
// checks what it holds: the layout, the digests, a non-root user, the
// data volume, the binary, the CA certificates. Where podman is installed
// it loads the image and tries to run it (on the development machine
// podman builds and loads images but cannot start a container: its
// runtime may not set resource limits there).
func TestOCIImage(t *testing.T) {
	ca := "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(ca); err != nil {
		t.Skipf("no CA bundle at %s (Debian: package ca-certificates)", ca)
	}
	bin := staticWotmq(t)
	opts := packaging.ImageOptions{Binary: bin, Config: "wotmq.toml", CACerts: ca, Arch: "amd64", Version: "test",
		Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Out: filepath.Join(t.TempDir(), "oci")}
	digest, err := packaging.WriteImage(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Reproducible", func(t *testing.T) {
		again := opts
		again.Out = filepath.Join(t.TempDir(), "oci")
		if d, err := packaging.WriteImage(again); err != nil || d != digest {
			t.Errorf("a second build: %s, %v; the first: %s", d, err, digest)
		}
	})
	dir := opts.Out
	var index struct {
		Manifests []ociDescriptor `json:"manifests"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if err := json.Unmarshal(b, &index); err != nil || len(index.Manifests) != 1 || index.Manifests[0].Digest != digest {
		t.Fatalf("index.json: %s (%v)", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "oci-layout")); string(b) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout: %s", b)
	}
	var manifest struct {
		Config ociDescriptor   `json:"config"`
		Layers []ociDescriptor `json:"layers"`
	}
	if err := json.Unmarshal(blob(t, dir, digest), &manifest); err != nil || len(manifest.Layers) != 1 {
		t.Fatalf("manifest: %v", err)
	}
	var config struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Config       struct {
			User       string
			Entrypoint []string
			Cmd        []string
			Volumes    map[string]any
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(blob(t, dir, manifest.Config.Digest), &config); err != nil {
		t.Fatal(err)
	}
	t.Run("Config", func(t *testing.T) {
		c := config.Config
		if c.User != "65532:65532" || strings.Join(c.Entrypoint, " ") != "/usr/bin/wotmq" ||
			strings.Join(c.Cmd, " ") != "serve --config /etc/wotmq/wotmq.toml" || c.Volumes["/var/lib/wotmq"] == nil ||
			config.OS != "linux" || config.Architecture != "amd64" {
			t.Errorf("image config: %+v", config)
		}
	})
	layer := blob(t, dir, manifest.Layers[0].Digest)
	zr, err := gzip.NewReader(bytes.NewReader(layer))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	if sum := sha256.Sum256(raw); "sha256:"+hex.EncodeToString(sum[:]) != config.RootFS.DiffIDs[0] {
		t.Error("the layer's diff ID is not the digest of its tar")
	}
	files := map[string]*tar.Header{}
	bodies := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h
		bodies[h.Name], _ = io.ReadAll(tr)
	}
	t.Run("Contents", func(t *testing.T) {
		want, _ := os.ReadFile(bin)
		for name, c := range map[string]struct {
			mode int64
			uid  int
		}{
			"usr/bin/wotmq": {0o755, 0}, "etc/wotmq/wotmq.toml": {0o644, 0}, "etc/ssl/certs/ca-certificates.crt": {0o644, 0},
			"etc/passwd": {0o644, 0}, "etc/group": {0o644, 0}, "var/lib/wotmq/": {0o700, 65532}, "tmp/": {0o1777, 0},
		} {
			h := files[name]
			if h == nil || h.Mode != c.mode || h.Uid != c.uid {
				t.Errorf("%s: %+v, want mode %o uid %d", name, h, c.mode, c.uid)
			}
		}
		if !bytes.Equal(bodies["usr/bin/wotmq"], want) {
			t.Error("the image's binary is not the one given")
		}
		if !strings.Contains(string(bodies["etc/passwd"]), "wotmq:x:65532:65532:") {
			t.Errorf("passwd: %s", bodies["etc/passwd"])
		}
		if !strings.Contains(string(bodies["etc/wotmq/wotmq.toml"]), "\ndata = \"/var/lib/wotmq\"\n") {
			t.Error("the config does not put the data in the volume")
		}
	})
	t.Run("Podman", func(t *testing.T) {
		podman, err := exec.LookPath("podman")
		if err != nil {
			t.Skip("podman not installed: the image is checked above but not loaded or run")
		}
		// podman names the image after the path, which must be lower case.
		lower, err := os.MkdirTemp("", "wotmq-oci-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(lower) })
		if out, err := exec.Command("cp", "-R", dir+"/.", lower).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		pulled, err := exec.Command(podman, "pull", "-q", "oci:"+lower).Output()
		if ee, ok := err.(*exec.ExitError); ok {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		if err != nil {
			t.Fatalf("podman pull oci:%s: %v", lower, err)
		}
		id := strings.TrimSpace(string(pulled))
		t.Cleanup(func() { exec.Command(podman, "rmi", "-f", id).Run() })
		out, err := exec.Command(podman, "image", "inspect", "--format", "{{.Config.User}}", id).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "65532:65532" {
			t.Errorf("podman image inspect: %v %s", err, out)
		}
		out, err = exec.Command(podman, "run", "--rm", id, "version").CombinedOutput()
		if err != nil {
			t.Skipf("podman loads the image but cannot run a container on this machine: %v: %s", err, strings.TrimSpace(string(out)))
		}
		if !strings.HasPrefix(string(out), "wotmq ") {
			t.Errorf("wotmq version in the container: %s", out)
		}
	})
}
