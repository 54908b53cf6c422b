// Package declared reads the string constants a package declares, for the
// tests that keep a list of them whole: a constant added without its place
// in the list fails its package's test rather than going unseen (the
// metrics make a series at zero of each value in such lists).
package declared

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
)

// Constant is a string constant as declared.
type Constant struct {
	Name string
	// Type is the type named in the declaration, "" for an untyped
	// constant.
	Type  string
	Value string
}

// Strings are the constants of the Go files in dir (tests aside) that are
// given a string literal, in the order of their declaration.
func Strings(dir string) ([]Constant, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var out []Constant
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				typ := ""
				if id, ok := vs.Type.(*ast.Ident); ok {
					typ = id.Name
				}
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						break
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					value, err := strconv.Unquote(lit.Value)
					if err != nil {
						return nil, err
					}
					out = append(out, Constant{Name: name.Name, Type: typ, Value: value})
				}
			}
		}
	}
	return out, nil
}
