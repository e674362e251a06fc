// Package locales holds Terrain's French and English messages and the
// Localizer that turns message IDs into text, dates and numbers of one
// language.
//
// The messages live in active.fr.toml and active.en.toml (go-i18n v2 format),
// embedded in the binary. French is the working language: it is the default
// and the fallback. The package uses go-i18n directly rather than
// fyne/v2/lang because the language must switch at run time: a screen makes
// a new Localizer and rebuilds its content.
package locales

import (
	"embed"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// The supported languages, as stored in settings.
const (
	French  = "fr"
	English = "en"
)

// Supported returns the supported languages, French first.
func Supported() []string { return []string{French, English} }

//go:embed active.fr.toml active.en.toml
var files embed.FS

// catalog is the parsed message files. It is read-only once loaded, which is
// what makes Localizers safe for concurrent use.
type catalog struct {
	bundle   *i18n.Bundle
	messages map[string]map[string]*i18n.Message // language -> ID -> message
	fallback *i18n.Localizer                     // French, for a zero Localizer
}

// cat is loaded when the package starts: the files are embedded, so a
// parse error is a build defect that the package tests report, not a
// condition the app could handle.
var cat = mustLoad()

func mustLoad() *catalog {
	c, err := load()
	if err != nil {
		panic(err)
	}
	return c
}

func load() (*catalog, error) {
	b := i18n.NewBundle(language.French)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	c := &catalog{bundle: b, messages: make(map[string]map[string]*i18n.Message)}
	for _, lang := range Supported() {
		f, err := b.LoadMessageFileFS(files, "active."+lang+".toml")
		if err != nil {
			return nil, fmt.Errorf("load %s messages: %w", lang, err)
		}
		byID := make(map[string]*i18n.Message, len(f.Messages))
		for _, m := range f.Messages {
			byID[m.ID] = m
		}
		c.messages[lang] = byID
	}
	c.fallback = i18n.NewLocalizer(b, French)
	return c, nil
}

// has reports whether lang defines the message id.
func (c *catalog) has(lang, id string) bool {
	_, ok := c.messages[lang][id]
	return ok
}

var matcher = language.NewMatcher([]language.Tag{language.French, language.English})

// Normalize maps any language setting or POSIX locale name ("en",
// "en-CA", "en_CA.UTF-8", "fr_CA.ISO8859-1@euro") to French or English.
// Anything that is not recognisably English is French, the working
// language: "C", "POSIX", "", "de_DE" and garbage all give French.
func Normalize(lang string) string {
	s := strings.TrimSpace(lang)
	if i := strings.IndexAny(s, ".@"); i >= 0 {
		s = s[:i] // drop the POSIX codeset and modifier
	}
	s = strings.ReplaceAll(s, "_", "-")
	if s == "" || strings.EqualFold(s, "C") || strings.EqualFold(s, "POSIX") {
		return French
	}
	tag, err := language.Parse(s)
	if err != nil {
		return French
	}
	_, i, conf := matcher.Match(tag)
	if conf == language.No {
		return French
	}
	return Supported()[i]
}

// Detect returns the language of the system locale, read as the C library
// does for messages: the first non-empty of LC_ALL, LC_MESSAGES and LANG. It
// is French when none is set or the locale is C, POSIX or neither French
// nor English. getenv is usually os.Getenv (used when nil); tests pass a
// map lookup.
func Detect(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(k); v != "" {
			return Normalize(v)
		}
	}
	return French
}

// Localizer renders messages, dates and numbers in one language. It is
// cheap to create, holds no mutable state and is safe for concurrent use.
// The zero Localizer (and a nil one) speaks French.
type Localizer struct {
	lang string
	loc  *i18n.Localizer
}

// New returns a Localizer for lang, normalised as by Normalize.
func New(lang string) *Localizer {
	lang = Normalize(lang)
	return &Localizer{lang: lang, loc: i18n.NewLocalizer(cat.bundle, lang)}
}

// Lang returns the Localizer's language, French or English.
func (l *Localizer) Lang() string {
	if l == nil || l.lang == "" {
		return French
	}
	return l.lang
}

func (l *Localizer) i18n() *i18n.Localizer {
	if l == nil || l.loc == nil {
		return cat.fallback
	}
	return l.loc
}

// T returns the message id filled with data (the maps are merged, later
// keys winning). An unknown id, or a message that fails to render, gives
// the id itself, so a mistake shows on screen instead of crashing; it is
// also recorded for Missed, and the package tests keep the files complete.
func (l *Localizer) T(id string, data ...map[string]any) string {
	s, err := l.localize(id, nil, merge(data))
	return l.result(id, s, err)
}

// N returns the plural message id for count, filled with data. The template
// sees {{.Count}} as the count formatted for the language ("1 234" in
// French, "1,234" in English). The form follows the language's CLDR rules:
// in French 0 and 1 are singular and exact millions take "de".
func (l *Localizer) N(id string, count int, data ...map[string]any) string {
	m := make(map[string]any, 4)
	for _, d := range data {
		for k, v := range d {
			m[k] = v
		}
	}
	m["Count"] = l.integer(int64(count))
	s, err := l.localize(id, &count, m)
	return l.result(id, s, err)
}

// localize is T and N without the fallback, so tests can see the error.
func (l *Localizer) localize(id string, count *int, data map[string]any) (string, error) {
	cfg := &i18n.LocalizeConfig{MessageID: id}
	if data != nil {
		cfg.TemplateData = data
	}
	if count != nil {
		cfg.PluralCount = *count
	}
	return l.i18n().Localize(cfg)
}

func (l *Localizer) result(id, s string, err error) string {
	if err == nil {
		return s
	}
	missed.Store(l.Lang()+":"+id, struct{}{})
	if s == "" {
		return id
	}
	// go-i18n still rendered something: the French text for a message
	// English lacks, or the "other" form for a missing plural form.
	return s
}

func merge(data []map[string]any) map[string]any {
	switch len(data) {
	case 0:
		return nil
	case 1:
		return data[0]
	}
	m := make(map[string]any)
	for _, d := range data {
		for k, v := range d {
			m[k] = v
		}
	}
	return m
}

// missed records every "language:id" that T or N could not render
// properly since the process started.
var missed sync.Map

// Missed returns, sorted, every "language:id" (for example
// "en:members.count") that T or N could not render properly since the
// process started: unknown IDs, missing plural forms, broken templates.
// UI tests build their screens and then assert that it is empty, which
// catches IDs that are computed rather than written out.
func Missed() []string {
	var out []string
	missed.Range(func(k, _ any) bool {
		out = append(out, k.(string))
		return true
	})
	sort.Strings(out)
	return out
}

// MessageIDs returns every message ID defined in either language, sorted.
func MessageIDs() []string {
	seen := make(map[string]bool)
	var out []string
	for _, lang := range Supported() {
		for id := range cat.messages[lang] {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Has reports whether id has a message in every supported language, for
// callers that build an ID from data (a server's rejection code) and need a
// fallback when there is none.
func Has(id string) bool { return len(MissingIDs([]string{id})) == 0 }

// MissingIDs returns, sorted and without repeats, the ids that some
// supported language does not define. Tests of other packages use it to
// check the IDs they pass to T and N.
func MissingIDs(ids []string) []string {
	seen := make(map[string]bool)
	var out []string
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		for _, lang := range Supported() {
			if !cat.has(lang, id) {
				out = append(out, id)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}
