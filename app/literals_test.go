package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"fyne.io/fyne/v2/test"

	"leconsortium.coop/terrain/locales"
)

// Every user-visible string of the app comes from locales. Two checks:
// the source holds no words outside message IDs, template keys, error and
// log messages and identifiers (TestNoWordsInSource), and the screens, in
// both languages, show no message ID and nothing of the other language
// (TestScreensSpeakOneLanguage).

var (
	messageIDLike = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_%]*)+$`)
	// shownID is a whole message ID on screen ("members.count"), not an
	// abbreviation ("avr.").
	shownID     = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)
	templateKey = regexp.MustCompile(`^[A-Z][A-Za-z]*$`)
	identifier  = regexp.MustCompile(`^[a-z0-9_.\-]+$`)
)

func TestNoWordsInSource(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var ids []string
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		allowed := map[*ast.BasicLit]bool{}
		allow := func(e ast.Expr) {
			if lit, ok := e.(*ast.BasicLit); ok {
				allowed[lit] = true
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.ImportSpec:
				allow(x.Path)
			case *ast.CallExpr:
				switch fn := callName(x); {
				case fn == "T" || fn == "N":
					// A message ID, which must exist in both languages.
					if lit, ok := x.Args[0].(*ast.BasicLit); ok {
						id, _ := strconv.Unquote(lit.Value)
						ids = append(ids, id)
						allow(lit)
					}
				case fn == "errors.New" || fn == "fmt.Errorf":
					allow(x.Args[0]) // for developers and logs; locales explains errors
				case slices.Contains([]string{"Debug", "Info", "Warn", "Error"}, fn) && isLogger(x):
					for _, a := range x.Args {
						allow(a) // message and attribute keys
					}
				}
			case *ast.CompositeLit:
				if _, ok := x.Type.(*ast.MapType); ok {
					for _, el := range x.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if lit, ok := kv.Key.(*ast.BasicLit); ok {
								key, _ := strconv.Unquote(lit.Value)
								if !templateKey.MatchString(key) {
									t.Errorf("%s: map key %q is not a template key", fset.Position(lit.Pos()), key)
								}
								allow(lit)
							}
						}
					}
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			if fld, ok := n.(*ast.Field); ok && fld.Tag != nil {
				allowed[fld.Tag] = true
			}
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING || allowed[lit] {
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			checked++
			if !strings.ContainsFunc(s, unicode.IsLetter) {
				return true // punctuation and separators: " · ", "—", "• "
			}
			if messageIDLike.MatchString(s) || identifier.MatchString(s) {
				if messageIDLike.MatchString(s) && !strings.Contains(s, "%") && !strings.HasSuffix(s, ".") {
					ids = append(ids, s) // "field." prefixes end with a dot; keys like draft.visit are checked below
				}
				return true
			}
			t.Errorf("%s: words in the source, not from locales: %q", fset.Position(lit.Pos()), s)
			return true
		})
	}
	if checked < 50 {
		t.Fatalf("only %d literals checked: the scan is broken", checked)
	}
	// IDs written out must exist; setting keys (draft.visit) are not IDs.
	var missing []string
	for _, id := range locales.MissingIDs(ids) {
		if id != draftKey {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("message IDs missing from the locales files: %q", missing)
	}
}

// callName is "T" for loc.T(...), "errors.New" for errors.New(...).
func callName(c *ast.CallExpr) string {
	switch fn := c.Fun.(type) {
	case *ast.SelectorExpr:
		if pkg, ok := fn.X.(*ast.Ident); ok && (pkg.Name == "errors" || pkg.Name == "fmt") {
			return pkg.Name + "." + fn.Sel.Name
		}
		return fn.Sel.Name
	case *ast.Ident:
		return fn.Name
	}
	return ""
}

// isLogger reports whether a call is on a *slog.Logger field named log.
func isLogger(c *ast.CallExpr) bool {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	inner, ok := sel.X.(*ast.SelectorExpr)
	return ok && inner.Sel.Name == "log"
}

// otherLanguageOnly is every text of lang's messages that the other
// language does not also use: such a text on the other language's screen
// is a leak.
func otherLanguageOnly(lang string) map[string]string {
	this, other := locales.New(lang), locales.New(locales.English)
	if lang == locales.English {
		other = locales.New(locales.French)
	}
	out := map[string]string{}
	for _, id := range locales.MessageIDs() {
		a, b := this.T(id), other.T(id)
		if a != b && !strings.Contains(a, "{{") {
			out[a] = id
		}
	}
	return out
}

// screenTexts visits every screen and dialog of the app and returns what
// each shows.
func screenTexts(t *testing.T, lang string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	u, w := startUI(t, lang)
	take := func(name string) {
		uiq.drain()
		out[name] = texts(w)
	}
	take("members")
	id := openMember(t, u)
	take("member")
	test.Tap(button(t, w, tr(lang, "member.edit_contact")))
	take("contact-dialog")
	u.escape()
	u.main.openVisitForm(id, nil)
	test.Tap(button(t, w, tr(lang, "visit.add_followup")))
	u.fillInvalidVisit(id)
	take("visit-error")
	test.Tap(button(t, w, tr(lang, "dialog.cancel")))
	take("discard-question")
	test.Tap(button(t, w, tr(lang, "visit.discard")))
	for _, tab := range []int{tabFollowUps, tabDashboard, tabConflicts, tabSettings} {
		u.main.tabs.SelectIndex(tab)
		waitFor(t, func() bool { return !hasText(w, tr(lang, "dashboard.loading")) })
		take(u.main.items[tab].Text)
	}
	test.Tap(button(t, w, tr(lang, "settings.change_passphrase")))
	take("passphrase-dialog")
	u.escape()

	a := test.NewTempApp(t)
	w2 := a.NewWindow("")
	w2.Resize(testSize)
	u2 := New(a, w2, Config{Profile: filepath.Join(t.TempDir(), "p"), Lang: lang, Now: fixedNow})
	u2.post = uiq.post
	t.Cleanup(func() { u2.Close() })
	u2.Start()
	for _, step := range []string{"firstrun-1", "firstrun-2"} {
		out[step] = texts(w2)
		test.Tap(button(t, w2, tr(lang, "firstrun.next")))
	}
	out["firstrun-2-refused"] = texts(w2)
	return out
}

func TestScreensSpeakOneLanguage(t *testing.T) {
	for _, lang := range locales.Supported() {
		t.Run(lang, func(t *testing.T) {
			leaks := otherLanguageOnly(map[string]string{"fr": "en", "en": "fr"}[lang])
			screens := screenTexts(t, lang)
			if len(screens) < 12 {
				t.Fatalf("only %d screens visited", len(screens))
			}
			for screen, texts := range screens {
				if len(texts) < 3 {
					t.Errorf("%s: only %q on screen", screen, texts)
				}
				for _, s := range texts {
					if shownID.MatchString(s) {
						t.Errorf("%s: message ID on screen: %q", screen, s)
					}
					if id, ok := leaks[s]; ok {
						t.Errorf("%s: %q (%s) is in the other language", screen, s, id)
					}
					if strings.Contains(s, "{{") || strings.Contains(s, "<no value>") {
						t.Errorf("%s: broken template: %q", screen, s)
					}
				}
			}
		})
	}
	if missed := locales.Missed(); len(missed) > 0 {
		t.Errorf("messages that could not be rendered: %q", missed)
	}
}
