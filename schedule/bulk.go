package schedule

// Reading the sessions of a large load on every core.

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// readAhead reads the sessions of a Reparse (cutTable) that are not kept
// already, on every core, each with a decoder of its own, which keeps a
// session that has nothing to report in its table (cachedSession): one
// by one, they are a fifth of a first load. The loop in tables then
// takes those, and reads again, in order and with d, those that have
// something to report, for the messages and their order.
func (d *decoder) readAhead(sessions []any, cal *Calendar) {
	var todo []int
	for i, v := range sessions {
		if t, ok := v.(cutTable); ok && (t.pt.session == nil || *t.pt.cal != *cal) {
			todo = append(todo, i)
		}
	}
	const chunk = 64
	if len(todo) < bulkRead { // an edit: not worth the goroutines
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			w := d.worker(slabBytes)
			for {
				from := int(next.Add(chunk)) - chunk
				if from >= len(todo) {
					return
				}
				for _, i := range todo[from:min(from+chunk, len(todo))] {
					t := sessions[i].(cutTable)
					w.cachedSession(i, t.pt, t.text, cal)
				}
			}
		})
	}
	wg.Wait()
}

// worker returns a decoder that reads sessions for d on another core,
// whose problems are dropped (no line is looked for) and which keeps
// what it reads in blocks of block bytes (see slabs).
func (d *decoder) worker(block int) *decoder {
	return &decoder{file: d.file, lines: map[string]int{}, noZone: d.noZone, dense: &slabs{block: block}}
}

// bulkReader reads the sessions of a first load (bulkRead tables or
// more) as decodeTables decodes them, each batch on the core that
// decoded it, as readAhead would after: the decoded tables, several
// times the size of the sessions read from them (13 MB at 10,000
// sessions), are then garbage a batch at a time rather than all held
// until the last is decoded.
type bulkReader struct {
	d     *decoder
	cal   *Calendar
	block int // of the slabs the sessions are read into
}

// bulkReader returns the reader of n tables read with the defaults
// cal, nil when they are too few to read ahead.
func (d *decoder) bulkReader(n int, cal *Calendar) *bulkReader {
	if n < bulkRead {
		return nil
	}
	return &bulkReader{d: d, cal: cal, block: slabBytes}
}

// worker returns the decoder of one core, nil for a nil reader.
func (r *bulkReader) worker() *decoder {
	if r == nil {
		return nil
	}
	return r.d.worker(r.block)
}

// batch reads with w the sessions of the tables at the indexes batch.
func (r *bulkReader) batch(w *decoder, chunks []tableText, batch []int, tables []*parsedTable) {
	if r == nil {
		return
	}
	for _, i := range batch {
		if pt := tables[i]; pt.kind == "sessions" {
			w.cachedSession(i, pt, chunks[i].text, r.cal)
		}
	}
}

// bulkRead is how many sessions a decoder reads, at least, to keep them
// in blocks (slabs) and to read them on every core (readAhead): fewer
// are an edit.
const bulkRead = 128
