package main

import (
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sync"
	"time"
)

// options are the command's settings.
type options struct {
	scale    float64 // multiplies every scenario's duration and event times
	seed     uint64
	seeds    int // runs per scenario and strategy, seeds seed..seed+seeds-1
	scenario *regexp.Regexp
	strategy *regexp.Regexp
	svgDir   string // empty: no charts
	parallel int
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	start := time.Now()
	runs, err := run(opts, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "simulate:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "\n%d simulations in %v\n", runs, time.Since(start).Round(10*time.Millisecond))
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(errOut)
	scale := fs.Float64("scale", 1, "multiply every scenario's simulated duration (and event times) by this")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same results")
	seeds := fs.Int("seeds", 1, "run every scenario over this many seeds, -seed and up, and print each figure as the median [min–max] (no charts)")
	scen := fs.String("scenario", "", "run only the scenarios whose name matches this regular expression")
	strat := fs.String("strategy", "", "run only the strategies whose name matches this regular expression (the oracle always runs)")
	svg := fs.String("svg", "simulate-charts", "write a chart per scenario into this directory (empty: none)")
	par := fs.Int("parallel", runtime.GOMAXPROCS(0), "simulations run at once")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	o := options{scale: *scale, seed: *seed, seeds: *seeds, svgDir: *svg, parallel: *par}
	var err error
	if o.scenario, err = regexp.Compile(*scen); err != nil {
		fmt.Fprintln(errOut, "simulate: -scenario:", err)
		return o, err
	}
	if o.strategy, err = regexp.Compile(*strat); err != nil {
		fmt.Fprintln(errOut, "simulate: -strategy:", err)
		return o, err
	}
	if !(o.scale > 0) || o.parallel < 1 || o.seeds < 1 {
		err = errors.New("-scale must be above 0, -parallel and -seeds at least 1")
		fmt.Fprintln(errOut, "simulate:", err)
		return o, err
	}
	return o, nil
}

// outcome is a scenario with its results, the oracle's first.
type outcome struct {
	sc      *scenario
	results []*result
}

// run simulates the selected scenarios and strategies, prints the tables
// to out and writes the charts. It returns the number of simulations run.
func run(o options, out io.Writer) (int, error) {
	if o.seeds > 1 {
		runs, err := simulateSeeds(o)
		if err != nil {
			return 0, err
		}
		return reportSeeds(o, runs, out), nil
	}
	outcomes, err := simulate(o)
	if err != nil {
		return 0, err
	}
	return report(o, outcomes, out)
}

// report prints the tables of outcomes and writes their charts.
func report(o options, outcomes []outcome, out io.Writer) (int, error) {
	legend(out)
	runs := 0
	for _, oc := range outcomes {
		printTable(out, oc.sc, o.scale, oc.results)
		runs += len(oc.results)
		if o.svgDir == "" {
			continue
		}
		if err := os.MkdirAll(o.svgDir, 0o755); err != nil {
			return runs, err
		}
		path := filepath.Join(o.svgDir, "simulate-"+oc.sc.name+".svg")
		if err := writeChartFile(path, oc, o.scale); err != nil {
			return runs, err
		}
		fmt.Fprintf(out, "   chart: %s\n", path)
	}
	return runs, nil
}

func writeChartFile(path string, oc outcome, scale float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeChart(f, oc.sc, scale, oc.results); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runSeed derives a run's seed from the user's and the scenario's name, so
// that selecting fewer scenarios or strategies changes no result.
func runSeed(seed uint64, scenario string) uint64 {
	h := fnv.New64a()
	io.WriteString(h, scenario)
	return seed ^ h.Sum64()
}

// simulate runs every selected (scenario, strategy) pair, o.parallel at a
// time. Each run has its own generators, seeded from o.seed and the
// scenario, so the results do not depend on the order or parallelism.
func simulate(o options) ([]outcome, error) {
	var outcomes []outcome
	var cs []contestant
	for i, c := range contestants() {
		if i == 0 || o.strategy.MatchString(c.name) {
			cs = append(cs, c)
		}
	}
	type job struct{ s, c, i int } // scenario, row, job
	var jobs []job
	rows := map[*scenario][]contestant{}
	for _, sc := range scenarios() {
		if !o.scenario.MatchString(sc.name) {
			continue
		}
		scs := cs
		for _, c := range sc.extra {
			if o.strategy.MatchString(c.name) {
				scs = append(slices.Clip(scs), c)
			}
		}
		rows[sc] = scs
		for c := range scs {
			jobs = append(jobs, job{len(outcomes), c, len(jobs)})
		}
		outcomes = append(outcomes, outcome{sc: sc, results: make([]*result, len(scs))})
	}
	if len(outcomes) == 0 {
		return nil, errors.New("no scenario matches -scenario")
	}
	work := make(chan job)
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for range min(o.parallel, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				oc := outcomes[j.s]
				c := rows[oc.sc][j.c]
				s, err := newSim(oc.sc, c, runSeed(o.seed, oc.sc.name), o.scale)
				if err != nil {
					errs[j.i] = err
					continue
				}
				m := s.run()
				oc.results[j.c] = summarize(oc.sc, c, m, o.scale)
				m.latencies = nil // summarized: free the memory
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	return outcomes, errors.Join(errs...)
}
