package main

import "text/template"

// funcs: text/template's builtins only.
func funcs() template.FuncMap { return template.FuncMap{} }
