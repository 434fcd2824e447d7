package main

import (
	"context"
	"fmt"
	"os"
)

// ab alternates up -d and down of the indep10 project between -baseline and -berth,
// pair after pair, so that two builds compare on the same machine at the same moment:
// the host's speed drifts more between two runs of the whole bench than most changes
// move it. The notes give both medians and the median of the pairs' ratios.
func (b *bench) ab(ctx context.Context) error {
	if b.cfg.baseline == "" {
		b.notes = append(b.notes, "ab: not measured (no -baseline)")
		return nil
	}
	var up, down pairs
	for i := 0; i <= 2*b.cfg.pairs; i++ {
		if err := checkCtx(ctx); err != nil {
			return err
		}
		bu, bd, err := b.upDownWith(ctx, b.cfg.baseline)
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		nu, nd, err := b.upDownWith(ctx, b.cfg.berth)
		if err != nil {
			return err
		}
		up.add(i == 0, bu, nu)
		down.add(i == 0, bd, nd)
	}
	for _, r := range []struct {
		name string
		p    pairs
	}{{"up -d", up}, {"down", down}} {
		base, _ := summarize(r.p.Floor)
		cur, _ := summarize(r.p.Berth)
		note := fmt.Sprintf("ab, %s of 10 services: baseline %.0f ms, berth %.0f ms, berth / baseline %s",
			r.name, base.med, cur.med, ratioCell(r.p.Floor, r.p.Berth))
		b.notes = append(b.notes, note)
		fmt.Fprintln(os.Stderr, "  "+note)
	}
	return nil
}

// upDownWith runs up -d then down of indep10 with the given berth binary.
func (b *bench) upDownWith(ctx context.Context, bin string) (upMS, downMS float64, err error) {
	u, err := b.berthOf(ctx, bin, "indep10", "up", "-d")
	if err != nil {
		return 0, 0, err
	}
	d, err := b.berthOf(ctx, bin, "indep10", "down")
	return ms(u.d), ms(d.d), err
}
