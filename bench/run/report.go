package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// pairs holds floor and berth values measured side by side: Floor is the CNI floor,
// Native the native floor; either is empty where there is no such floor.
type pairs struct {
	Floor  []float64 `json:"floor,omitempty"`
	Native []float64 `json:"native_floor,omitempty"`
	Berth  []float64 `json:"berth"`
}

func (p *pairs) add(warmUp bool, floor, berth float64) { p.add3(warmUp, floor, 0, berth) }

func (p *pairs) add3(warmUp bool, floor, native, berth float64) {
	if warmUp {
		return
	}
	if floor > 0 {
		p.Floor = append(p.Floor, floor)
	}
	if native > 0 {
		p.Native = append(p.Native, native)
	}
	p.Berth = append(p.Berth, berth)
}

// ratios are berth/floor pair by pair.
func ratios(floor, berth []float64) []float64 {
	if len(floor) != len(berth) {
		return nil
	}
	out := make([]float64, len(floor))
	for i := range floor {
		out[i] = berth[i] / floor[i]
	}
	return out
}

type row struct {
	Scenario string `json:"scenario"`
	Unit     string `json:"unit"`
	P        pairs  `json:"values"`
}

func (b *bench) add(r row) {
	b.rows = append(b.rows, r)
	fmt.Fprintln(os.Stderr, "  "+r.line())
}

type stats struct{ med, min, max float64 }

func summarize(v []float64) (stats, bool) {
	if len(v) == 0 {
		return stats{}, false
	}
	s := slices.Clone(v)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stats{med: med, min: s[0], max: s[len(s)-1]}, true
}

func (s stats) format(unit string, ok bool) string {
	if !ok {
		return "—"
	}
	prec := 0
	if unit != "ms" {
		prec = 1
	}
	return fmt.Sprintf("%.*f (%.*f–%.*f)", prec, s.med, prec, s.min, prec, s.max)
}

func (r row) line() string {
	f, fok := summarize(r.P.Floor)
	nf, nok := summarize(r.P.Native)
	bs, bok := summarize(r.P.Berth)
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %d |", r.Scenario, r.Unit,
		f.format(r.Unit, fok), nf.format(r.Unit, nok), bs.format(r.Unit, bok),
		ratioCell(r.P.Floor, r.P.Berth), ratioCell(r.P.Native, r.P.Berth), len(r.P.Berth))
}

// ratioCell is the median of the pair-by-pair ratios, their range and each of them.
func ratioCell(floor, berth []float64) string {
	rs := ratios(floor, berth)
	s, ok := summarize(rs)
	if !ok {
		return "—"
	}
	var each []string
	for _, x := range rs {
		each = append(each, fmt.Sprintf("%.2f", x))
	}
	return fmt.Sprintf("%.2f× (%.2f–%.2f; %s)", s.med, s.min, s.max, strings.Join(each, " "))
}

func (b *bench) report() error {
	var sb strings.Builder
	sb.WriteString("| scenario | unit | CNI floor | native floor | berth | berth / CNI floor | berth / native floor | runs |\n")
	sb.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range b.rows {
		sb.WriteString(r.line() + "\n")
	}
	if len(b.dockerRows) > 0 {
		sb.WriteString("\n| scenario | unit | Docker Compose | berth | berth / Docker Compose | runs |\n|---|---|---|---|---|---|\n")
		for _, r := range b.dockerRows {
			sb.WriteString(r.dockerLine() + "\n")
		}
	}
	for _, n := range b.notes {
		sb.WriteString("\n- " + n)
	}
	sb.WriteString("\n")
	fmt.Fprint(b.out, sb.String())
	if b.cfg.outDir == "" {
		return nil
	}
	if err := os.MkdirAll(b.cfg.outDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.cfg.outDir, "results.md"), []byte(sb.String()), 0o644); err != nil {
		return err
	}
	data, err := json.MarshalIndent(b.rows, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.cfg.outDir, "results.json"), data, 0o644)
}
