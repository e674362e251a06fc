package archcheck

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// module is the import path of the module's root package.
const module = "leconsortium.coop/terrain"

// allowed lists, for every package of the module (by path below the
// module root, "." for main), the packages of the module it may import.
// Standard library and third-party imports are not listed here; the few
// rules about those are in forbiddenExternal. A package missing from this
// table fails the test: adding a package means deciding where it sits.
//
// The arrows: app -> sync -> store -> domain; central -> domain, protocol;
// nothing imports app, cli or cmd; central never imports the laptop's
// store, engine or client.
var allowed = map[string][]string{
	// Vocabulary: depends on nothing of ours.
	"domain": {},
	"hlc":    {},

	// Small leaves for the binaries: the build's version, the app's log
	// file, where the profile lives on each system.
	"version":    {},
	"applog":     {},
	"profiledir": {},

	// Leaves over the vocabulary.
	"locales":       {"domain"},
	"demo":          {"domain"},
	"sync/protocol": {"domain", "hlc"},

	// Documents for people: the one CSV format of every export and import,
	// and the PDF reports. Both the laptop and the server use them.
	"csvio":       {"domain", "locales"},
	"report/font": {},
	"report":      {"domain", "locales", "report/font"},

	// The laptop.
	"store":       {"domain", "hlc", "sync/protocol"},
	"sync/client": {"domain", "hlc", "locales", "sync/protocol"},
	"sync/engine": {"domain", "hlc", "locales", "store", "sync/client", "sync/protocol"},
	"sync/sim":    {},
	"app":         {"csvio", "demo", "domain", "hlc", "locales", "report", "store", "sync/engine", "sync/protocol"},
	"cli":         {"csvio", "domain", "locales", "store", "sync/engine", "sync/protocol"},
	".":           {"app", "applog", "cli", "internal/clocale", "locales", "profiledir", "store", "sync/engine", "version"},
	// Runs before Fyne reads the locale; imports nothing of ours.
	"internal/clocale": {},

	// The central service.
	"central/internal/jsonscan": {"hlc", "sync/protocol"},
	"central":                   {"central/internal/jsonscan", "domain", "hlc", "locales", "sync/protocol"},
	"central/badgerdb":          {"central", "central/internal/jsonscan", "domain", "hlc", "sync/protocol"},
	"central/postgres":          {"central", "central/internal/jsonscan", "domain", "hlc", "sync/protocol"},
	"central/contract":          {"central", "central/internal/jsonscan", "domain", "hlc", "sync/protocol"},
	"cmd/terrain-central":       {"central", "central/badgerdb", "csvio", "version", "central/postgres", "demo", "domain", "hlc", "locales", "sync/protocol"},
	"cmd/terrain-load":          {"central", "central/badgerdb", "central/postgres", "demo", "domain", "hlc", "sync/protocol"},

	// Tools that measure or draw; nothing imports them.
	"bench":              {"central", "central/badgerdb", "central/postgres", "demo", "domain", "hlc", "store", "sync/engine", "sync/protocol"},
	"tools/icongen":      {},
	"tools/sign":         {},
	"internal/archcheck": {},
}

// forbiddenExternal: imports outside the module that only some packages
// may make. Only main.go starts the Fyne application; nothing below the
// UI may know about Fyne at all.
var forbiddenExternal = []struct {
	prefix  string
	allowed func(pkg string) bool
}{
	{"fyne.io/fyne/v2/app", func(pkg string) bool { return pkg == "." }},
	{"fyne.io/", func(pkg string) bool { return pkg == "." || pkg == "app" || strings.HasPrefix(pkg, "app/") }},
	{"github.com/jackc/pgx", func(pkg string) bool {
		return pkg == "central/postgres" || strings.HasPrefix(pkg, "cmd/") || pkg == "bench"
	}},
}

// imports reads the non-test imports of every package of the module, with
// every build tag at once: an edge hidden behind a tag is still an edge.
func imports(t *testing.T, root string) map[string]map[string]bool {
	t.Helper()
	graph := map[string]map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root {
				// A nested module (tools/packaging) has rules of its own.
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir
				}
			}
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules" || name == "dist") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		if graph[pkg] == nil {
			graph[pkg] = map[string]bool{}
		}
		for _, spec := range f.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return err
			}
			graph[pkg][p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read the module: %v", err)
	}
	return graph
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", dir, err)
	}
	return dir
}

// TestDependencyRules fails on an import edge that the table does not
// allow, and on a package the table does not know.
func TestDependencyRules(t *testing.T) {
	graph := imports(t, moduleRoot(t))
	if len(graph) < 10 {
		t.Fatalf("read only %d packages: the walk is broken", len(graph))
	}
	pkgs := make([]string, 0, len(graph))
	for p := range graph {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		ok, known := allowed[pkg]
		if !known {
			t.Errorf("package %s is not in the dependency table: add it to allowed in internal/archcheck/deps_test.go, with the packages it may import", pkg)
			continue
		}
		for imp := range graph[pkg] {
			if own, isOwn := strings.CutPrefix(imp, module+"/"); isOwn {
				if !slices.Contains(ok, own) {
					t.Errorf("%s imports %s: not an allowed edge (docs/architecture.md)", pkg, own)
				}
				continue
			}
			if imp == module {
				t.Errorf("%s imports the main package", pkg)
				continue
			}
			for _, rule := range forbiddenExternal {
				if strings.HasPrefix(imp, rule.prefix) && !rule.allowed(pkg) {
					t.Errorf("%s imports %s: only some packages may (internal/archcheck)", pkg, imp)
				}
			}
		}
	}
	for pkg := range allowed {
		if _, ok := graph[pkg]; !ok {
			t.Errorf("the dependency table lists %s, which does not exist any more", pkg)
		}
	}
}

// TestRulesAreOneWay checks the table itself: no cycle, so the arrows
// really point one way.
func TestRulesAreOneWay(t *testing.T) {
	state := map[string]int{} // 0 unseen, 1 on the path, 2 done
	var visit func(p string, path []string)
	visit = func(p string, path []string) {
		switch state[p] {
		case 1:
			t.Errorf("cycle in the dependency table: %s", strings.Join(append(path, p), " -> "))
			return
		case 2:
			return
		}
		state[p] = 1
		for _, q := range allowed[p] {
			visit(q, append(path, p))
		}
		state[p] = 2
	}
	for p := range allowed {
		visit(p, nil)
	}
}
