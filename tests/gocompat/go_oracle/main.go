// The Go reference renderer the differential template tests talk to: one JSON case per stdin line in,
// one JSON result per stdout line out. funcs() comes from the second file of the build (funcs_plain.go for
// text/template alone, funcs_sprig.go for Sprig as ESO configures it).
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"text/template"
)

type Case struct {
	Text       string          `json:"text"`
	Data       json.RawMessage `json:"data"`
	MissingKey string          `json:"missingkey"`
	StringMap  bool            `json:"stringmap"`
}

type Result struct {
	Out      string `json:"out"`
	Err      string `json:"err"`
	ParseErr bool   `json:"parse_err"`
}

func run(c Case) Result {
	missing := c.MissingKey
	if missing == "" {
		missing = "error" // ESO's option
	}
	tmpl, err := template.New("t").Option("missingkey=" + missing).Funcs(funcs()).Parse(c.Text)
	if err != nil {
		return Result{Err: err.Error(), ParseErr: true}
	}
	var data any
	if c.StringMap {
		m := map[string]string{}
		if err := json.Unmarshal(c.Data, &m); err != nil {
			panic(err)
		}
		data = m
	} else if err := json.Unmarshal(c.Data, &data); err != nil {
		panic(err)
	}
	var out strings.Builder
	if err := tmpl.Execute(&out, data); err != nil {
		return Result{Out: out.String(), Err: err.Error()}
	}
	return Result{Out: out.String()}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	enc := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var c Case
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			panic(err)
		}
		if err := enc.Encode(run(c)); err != nil {
			panic(err)
		}
	}
}
