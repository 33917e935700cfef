package main

import (
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

// ESO's documented toYaml/fromYaml behaviour: marshal and drop the trailing newline; unmarshal into a map
// and report a failure under the "Error" key.
func toYaml(v any) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYaml(s string) map[string]any {
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

// funcs: Sprig without env, expandenv and getHostByName, as ESO removes them, plus ESO's YAML functions.
func funcs() template.FuncMap {
	m := sprig.TxtFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	delete(m, "getHostByName")
	m["toYaml"] = toYaml
	m["fromYaml"] = fromYaml
	return m
}
