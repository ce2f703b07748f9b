// Command typegen writes the vim25 data-object schema that src/vsphere uses to encode
// and decode SOAP: for every data type, its base type and its fields in wire order,
// each with its XML name, its vim25 type and whether it repeats. It reads govmomi's
// vim25/types sources (Debian's golang-github-vmware-govmomi-dev) with go/parser, so
// the table matches the simulator we test against and the WSDL govmomi was generated
// from. Run through tools/vcsim/gen-types.sh; never edit the output by hand.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

type field struct{ name, typ string }

type dataType struct {
	base   string
	fields []field
}

var scalars = map[string]string{
	"string": "string", "bool": "boolean", "int8": "byte", "byte": "byte", "int16": "short",
	"int32": "int", "int64": "long", "float32": "float", "float64": "double",
	"AnyType": "anyType", "ManagedObjectReference": "MOR",
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: typegen <govmomi vim25/types dir>")
		os.Exit(2)
	}
	fset := token.NewFileSet()
	types := map[string]*dataType{}
	enums := map[string]bool{}
	aliases := map[string]string{} // type PowerOnVM_Task PowerOnVMRequestType: the method's request
	for _, name := range []string{"types.go", "enum.go", "fault.go"} {
		f, err := parser.ParseFile(fset, filepath.Join(os.Args[1], name), nil, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				switch t := ts.Type.(type) {
				case *ast.StructType:
					types[ts.Name.Name] = structType(t)
				case *ast.Ident:
					if t.Name == "string" {
						enums[ts.Name.Name] = true
					} else {
						aliases[ts.Name.Name] = t.Name
					}
				}
			}
		}
	}
	for name, target := range aliases {
		if t, ok := types[target]; ok {
			types[name] = t
		}
	}
	names := make([]string, 0, len(types))
	for n := range types {
		// Request types are emitted under their method's name (the alias) instead.
		if n == "ManagedObjectReference" || strings.HasSuffix(n, "RequestType") {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		t := types[n]
		base := t.base
		if base == "" {
			base = "-"
		}
		b.WriteString(n + " " + base)
		for _, f := range t.fields {
			typ := f.typ
			arr := strings.HasSuffix(typ, "[]")
			elem := strings.TrimSuffix(typ, "[]")
			if enums[elem] {
				elem = "string"
			}
			if arr {
				elem += "[]"
			}
			b.WriteString(" " + f.name + ":" + elem)
		}
		b.WriteString("\n")
	}
	fmt.Print(b.String())
}

func structType(st *ast.StructType) *dataType {
	dt := &dataType{}
	for _, f := range st.Fields.List {
		if len(f.Names) == 0 {
			// An embedded struct is the base type (vim25 has single inheritance).
			if id, ok := f.Type.(*ast.Ident); ok && dt.base == "" {
				dt.base = id.Name
			}
			continue
		}
		if f.Tag == nil {
			continue
		}
		tag, _ := strconv.Unquote(f.Tag.Value)
		xmlTag := reflect.StructTag(tag).Get("xml")
		name := strings.Split(xmlTag, ",")[0]
		if name == "" || name == "-" || strings.Contains(xmlTag, ",attr") || strings.Contains(name, " ") {
			continue
		}
		dt.fields = append(dt.fields, field{name, typeName(f.Type)})
	}
	return dt
}

func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		if s, ok := scalars[t.Name]; ok {
			return s
		}
		if strings.HasPrefix(t.Name, "Base") {
			return strings.TrimPrefix(t.Name, "Base")
		}
		return t.Name
	case *ast.StarExpr:
		return typeName(t.X)
	case *ast.ArrayType:
		if id, ok := t.Elt.(*ast.Ident); ok && id.Name == "byte" {
			return "base64Binary"
		}
		return typeName(t.Elt) + "[]"
	case *ast.SelectorExpr:
		if t.Sel.Name == "Time" {
			return "dateTime"
		}
		return t.Sel.Name
	}
	return "anyType"
}
