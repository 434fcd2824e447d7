package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// pairs holds floor and berth values measured side by side; floor is 0 where there is
// no floor to compare with.
type pairs struct {
	Floor []float64 `json:"floor,omitempty"`
	Berth []float64 `json:"berth"`
}

func (p *pairs) add(warmUp bool, floor, berth float64) {
	if warmUp {
		return
	}
	if floor > 0 {
		p.Floor = append(p.Floor, floor)
	}
	p.Berth = append(p.Berth, berth)
}

// ratios are berth/floor pair by pair.
func (p pairs) ratios() []float64 {
	if len(p.Floor) != len(p.Berth) {
		return nil
	}
	out := make([]float64, len(p.Floor))
	for i := range p.Floor {
		out[i] = p.Berth[i] / p.Floor[i]
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
	bs, bok := summarize(r.P.Berth)
	ratio := "—"
	if rs, ok := summarize(r.P.ratios()); ok && fok {
		var each []string
		for _, x := range r.P.ratios() {
			each = append(each, fmt.Sprintf("%.2f", x))
		}
		ratio = fmt.Sprintf("%.2f× (%.2f–%.2f; %s)", rs.med, rs.min, rs.max, strings.Join(each, " "))
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %d |", r.Scenario, r.Unit, f.format(r.Unit, fok), bs.format(r.Unit, bok), ratio, len(r.P.Berth))
}

func (b *bench) report() error {
	var sb strings.Builder
	sb.WriteString("| scenario | unit | floor median (min–max) | berth median (min–max) | berth/floor median (min–max; pair by pair) | runs |\n")
	sb.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range b.rows {
		sb.WriteString(r.line() + "\n")
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
