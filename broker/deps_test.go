package broker_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestServesNoHTTPAPI keeps broker the MQTT adapter: no file of it
// imports net/http but the WebSocket listener (MQTT over WebSocket starts
// with an HTTP upgrade), and none imports the HTTP binding (httpapi) or
// the hub that builds on it. Imports are read per file, tests aside.
func TestServesNoHTTPAPI(t *testing.T) {
	const mod = "github.com/wotmq/wotmq/"
	allowed := map[string]map[string]bool{"net/http": {"wslistener.go": true}}
	forbidden := []string{mod + "httpapi", mod + "hub", mod + "cmd/", "net/http"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if (path == bad || strings.HasPrefix(path, bad+"/") || strings.HasSuffix(bad, "/") && strings.HasPrefix(path, bad)) && !allowed[bad][name] {
					t.Errorf("%s imports %s", name, path)
				}
			}
		}
	}
}
