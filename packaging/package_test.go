package packaging_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wotmq/wotmq/clustertest"
)

// buildDeb runs make package's script into a temporary directory and
// returns the .deb. It builds the binary and nfpm (go run, from the
// module cache after the first time): a minute or two.
func buildDeb(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the Debian package (go build, go run nfpm)")
	}
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed (Debian: package dpkg): the package is neither built nor checked")
	}
	out := t.TempDir()
	cmd := exec.Command("./packaging/package.sh")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("package.sh: %v\n%s", err, b)
	}
	debs, _ := filepath.Glob(filepath.Join(out, "wotmq_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("package.sh made %v", debs)
	}
	return debs[0]
}

func dpkgDeb(t *testing.T, args ...string) string {
	t.Helper()
	b, err := exec.Command("dpkg-deb", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return string(b)
}

// TestDebianPackage builds the package, checks what it holds, unpacks it
// into a scratch root (dpkg -x: installing it for real would change this
// machine) and runs the packaged binary with the packaged config, its
// ports moved to free ones on 127.0.0.1 and its data in a temporary
// directory, until it serves.
func TestDebianPackage(t *testing.T) {
	deb := buildDeb(t)
	t.Run("Contents", func(t *testing.T) {
		list := dpkgDeb(t, "-c", deb)
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`-rwxr-xr-x root/root +\d+ .* \./usr/bin/wotmq\n`),
			regexp.MustCompile(`-rw-r--r-- root/root +\d+ .* \./usr/lib/systemd/system/wotmq\.service\n`),
			regexp.MustCompile(`-rw-r----- root/root +\d+ .* \./etc/wotmq/wotmq\.toml\n`),
			regexp.MustCompile(`\./usr/share/doc/wotmq/operations\.md\n`),
			regexp.MustCompile(`\./usr/share/doc/wotmq/examples/grafana-dashboard\.json\n`),
			regexp.MustCompile(`\./usr/share/doc/wotmq/examples/prometheus-alerts\.yml\n`),
		} {
			if !want.MatchString(list) {
				t.Errorf("the package lacks %s:\n%s", want, list)
			}
		}
	})
	t.Run("Control", func(t *testing.T) {
		ctl := dpkgDeb(t, "-f", deb)
		for _, want := range []string{"Package: wotmq\n", "Depends: adduser\n", "Section: net\n"} {
			if !strings.Contains(ctl, want) {
				t.Errorf("control lacks %q:\n%s", want, ctl)
			}
		}
		dir := t.TempDir()
		dpkgDeb(t, "-e", deb, dir)
		conf, _ := os.ReadFile(filepath.Join(dir, "conffiles"))
		if strings.TrimSpace(string(conf)) != "/etc/wotmq/wotmq.toml" {
			t.Errorf("conffiles %q: the config must be kept over upgrades", conf)
		}
		post, _ := os.ReadFile(filepath.Join(dir, "postinst"))
		for _, want := range []string{"adduser --system", "chown root:wotmq /etc/wotmq/wotmq.toml", "systemctl enable wotmq.service", "try-restart"} {
			if !strings.Contains(string(post), want) {
				t.Errorf("postinst lacks %q", want)
			}
		}
	})

	root := t.TempDir()
	dpkgDeb(t, "-x", deb, root)
	bin := filepath.Join(root, "usr/bin/wotmq")
	config := filepath.Join(root, "etc/wotmq/wotmq.toml")

	t.Run("Unit", func(t *testing.T) {
		unit, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/wotmq.service"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"User=wotmq", "ExecStart=/usr/bin/wotmq serve --config /etc/wotmq/wotmq.toml", "StateDirectory=wotmq",
			"ProtectSystem=strict", "NoNewPrivileges=yes", "Restart=on-failure", "CapabilityBoundingSet=\n", "WantedBy=multi-user.target",
		} {
			if !strings.Contains(string(unit), want) {
				t.Errorf("the unit lacks %q", want)
			}
		}
		analyze, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Skip("systemd-analyze not installed: the unit is not verified")
		}
		// A copy whose ExecStart is the unpacked binary: verify wants it
		// to exist.
		copied := filepath.Join(t.TempDir(), "wotmq.service")
		os.WriteFile(copied, []byte(strings.ReplaceAll(string(unit), "ExecStart=/usr/bin/wotmq", "ExecStart="+bin)), 0o644)
		if out, err := exec.Command(analyze, "verify", "--man=no", copied).CombinedOutput(); err != nil {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
		// systemd's own rating of the sandbox: 0 (locked down) to 10
		// (exposed), fail above 2.0 (--threshold counts tenths); the unit is at 1.6.
		out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=20", copied).CombinedOutput()
		if err != nil {
			t.Errorf("systemd-analyze security: %v\n%s", err, out)
		}
		if m := regexp.MustCompile(`Overall exposure level for wotmq.service: ([0-9.]+)`).FindStringSubmatch(string(out)); m != nil {
			t.Logf("systemd-analyze security: exposure %s", m[1])
		}
	})
	t.Run("Version", func(t *testing.T) {
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "wotmq ") || !strings.Contains(string(out), "linux/") {
			t.Errorf("wotmq version: %v %s", err, out)
		}
	})
	t.Run("ServesWithThePackagedConfig", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		// Ports below the kernel's ephemeral range: none of a test beside
		// this one is given them meanwhile.
		ports := clustertest.FreePorts(t, 3)
		mqttAddr, httpAddr, metricsAddr := clustertest.Addr(ports[0]), clustertest.Addr(ports[1]), clustertest.Addr(ports[2])
		// The packaged config as shipped; flags move what this machine
		// cannot give (ports, /var/lib/wotmq) and keep the test off the
		// LAN (mDNS).
		cmd := exec.Command(bin, "serve", "--config", config, "--data", data,
			"--mqtt-addr", mqttAddr, "--ws-addr", "off", "--http-addr", httpAddr, "--metrics-addr", metricsAddr, "--mdns=false")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		defer func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("after SIGTERM: %v, want exit status 0", err)
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Error("no exit within 30 s of SIGTERM")
			}
		}()
		printed := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if line := sc.Text(); strings.HasPrefix(line, "    ") {
					printed <- strings.TrimSpace(line)
				}
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for {
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+httpAddr+"/.well-known/wot", nil)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case err := <-exited:
				t.Fatalf("the packaged hub exited: %v", err)
			case <-ctx.Done():
				t.Fatal("GET /.well-known/wot did not answer 200 within 30 s")
			case <-time.After(50 * time.Millisecond):
			}
		}
		var pw string
		select {
		case pw = <-printed:
		case <-ctx.Done():
			t.Fatal("no first admin password on standard output")
		}
		file := filepath.Join(data, "initial-admin-password")
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(file)
		if fi.Mode().Perm() != 0o600 || strings.TrimSpace(string(b)) != pw {
			t.Errorf("%s: mode %v, holds the printed password: %v", file, fi.Mode().Perm(), strings.TrimSpace(string(b)) == pw)
		}
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "wotmq_build_info{") {
			t.Errorf("/metrics lacks wotmq_build_info")
		}
	})
}
