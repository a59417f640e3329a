package configs

import (
	_ "embed"
	"fmt"
	"io"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed dictionary.yaml
var defaultDictionary []byte

// Column categories of the data dictionary.
const (
	CatAttribute    = "attribute"
	CatIdentifying  = "identifying"
	CatImport       = "import"
	CatHealth       = "health"
	CatFreeText     = "free_text"
	CatProfessional = "professional"
	CatGenetic      = "genetic"
	CatDerived      = "derived"
)

// Column is one dictionary entry.
type Column struct {
	Name            string   `yaml:"name"`
	Category        string   `yaml:"category"`
	Type            string   `yaml:"type"`
	Values          []string `yaml:"values"`
	From            string   `yaml:"from"`
	QuasiIdentifier bool     `yaml:"quasi_identifier"`
	Why             string   `yaml:"why"`
}

// Dictionary is the warehouse's data dictionary.
type Dictionary struct {
	Version int      `yaml:"version"`
	Columns []Column `yaml:"columns"`
	byName  map[string]int
}

// DefaultDictionary returns the embedded dictionary.
func DefaultDictionary() *Dictionary {
	d, err := ParseDictionary(strings.NewReader(string(defaultDictionary)))
	if err != nil {
		panic("configs: embedded dictionary: " + err.Error())
	}
	return d
}

// ParseDictionary reads a YAML dictionary (at most 1 MiB) and validates it.
func ParseDictionary(r io.Reader) (*Dictionary, error) {
	var d Dictionary
	dec := yaml.NewDecoder(io.LimitReader(r, 1<<20))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("data dictionary: %w", err)
	}
	d.byName = map[string]int{}
	cats := []string{CatAttribute, CatIdentifying, CatImport, CatHealth, CatFreeText, CatProfessional, CatGenetic, CatDerived}
	types := []string{"string", "nir", "date", "sex", "int", "float", "enum", "path", "boxes"}
	for i, c := range d.Columns {
		c.Name = strings.ToLower(strings.TrimSpace(c.Name))
		d.Columns[i].Name = c.Name
		if c.Name == "" {
			return nil, fmt.Errorf("data dictionary: column %d has no name", i+1)
		}
		if _, dup := d.byName[c.Name]; dup {
			return nil, fmt.Errorf("data dictionary: column %q listed twice", c.Name)
		}
		if !slices.Contains(cats, c.Category) {
			return nil, fmt.Errorf("data dictionary: column %q: unknown category %q", c.Name, c.Category)
		}
		if !slices.Contains(types, c.Type) {
			return nil, fmt.Errorf("data dictionary: column %q: unknown type %q", c.Name, c.Type)
		}
		if c.Type == "enum" && len(c.Values) == 0 {
			return nil, fmt.Errorf("data dictionary: column %q: enum without values", c.Name)
		}
		d.byName[c.Name] = i
	}
	return &d, nil
}

// Lookup returns the column named name (case-insensitive).
func (d *Dictionary) Lookup(name string) (Column, bool) {
	i, ok := d.byName[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return Column{}, false
	}
	return d.Columns[i], true
}

// ByCategory returns the names of the columns of a category, in dictionary order.
func (d *Dictionary) ByCategory(cat string) []string {
	var out []string
	for _, c := range d.Columns {
		if c.Category == cat {
			out = append(out, c.Name)
		}
	}
	return out
}

// QuasiIdentifiers returns the default quasi-identifiers for exports.
func (d *Dictionary) QuasiIdentifiers() []string {
	var out []string
	for _, c := range d.Columns {
		if c.QuasiIdentifier {
			out = append(out, c.Name)
		}
	}
	return out
}
