package schedule

import (
	"container/heap"
	"slices"
	"time"
)

// This file stacks the layers and then the overrides into one timeline: a
// list of segments that tiles the queried range exactly, each with one
// person or with nobody, adjacent segments always different. Shifts and
// Gaps are its two halves, so they cannot disagree.

// segment is a stretch [start, end) of the timeline with one person on
// call, or with nobody when on is false.
type segment struct {
	start, end time.Time
	user       int64
	on         bool
}

// timeline tiles [from, to) with segments. Its cost is proportional to the
// number of hand-offs, restriction windows and overrides in the range.
func (s *Schedule) timeline(from, to time.Time) []segment {
	from, to = clampTime(from.UTC()), clampTime(to.UTC())
	if !from.Before(to) {
		return nil
	}
	lo := from.Unix()
	hi := to.Unix()
	if to.Nanosecond() > 0 {
		hi++
	}
	loc := orUTC(s.Location)
	z := resolver{loc: loc}
	layers := make([][]piece, len(s.Layers))
	for i := range s.Layers {
		r := newRotor(&s.Layers[i], loc)
		layers[i] = r.pieces(&z, lo, hi, nil)
	}
	base := stack(layers, lo, hi)
	segs := make([]segment, 0, len(base))
	for _, p := range base {
		segs = append(segs, segment{start: time.Unix(p.start, 0).UTC(), end: time.Unix(p.end, 0).UTC(), user: p.user, on: p.on})
	}
	// The layers worked in whole seconds; the ends are the caller's.
	segs[0].start, segs[len(segs)-1].end = from, to
	if over := overrides(s.Overrides, from, to); over != nil {
		segs = overlay(segs, over)
	}
	return segs
}

// clampTime keeps t inside the range the arithmetic is exact in, about
// ±1.1 billion years, so that no sum of seconds overflows.
func clampTime(t time.Time) time.Time {
	if u := t.Unix(); u < minInstant || u >= maxInstant {
		return time.Unix(clampInstant(u), 0).UTC()
	}
	return t
}

// stack tiles [lo, hi) with the layers' pieces, the later layer winning
// wherever several have someone. Each layer's pieces are in order and do
// not overlap, so one cursor per layer walks them once.
func stack(layers [][]piece, lo, hi int64) []piece {
	next := make([]int, len(layers))
	var out []piece
	for at := lo; at < hi; {
		end := hi
		top := piece{}
		for i := len(layers) - 1; i >= 0; i-- {
			ps, j := layers[i], next[i]
			for j < len(ps) && ps[j].end <= at {
				j++
			}
			next[i] = j
			if j == len(ps) {
				continue
			}
			if ps[j].start <= at {
				// This layer has someone now; the layers below cannot
				// matter until its piece ends.
				top = ps[j]
				end = min(end, ps[j].end)
				break
			}
			end = min(end, ps[j].start)
		}
		out = appendPiece(out, piece{start: at, end: end, user: top.user, on: top.on})
		at = end
	}
	return out
}

// appendPiece appends p, merging it into the last piece when they touch
// and have the same person (or both nobody).
func appendPiece(out []piece, p piece) []piece {
	if n := len(out); n > 0 && out[n-1].end == p.start && out[n-1].on == p.on && (!p.on || out[n-1].user == p.user) {
		out[n-1].end = p.end
		return out
	}
	return append(out, p)
}

// overrides tiles [from, to) with the overrides, the later one in the list
// winning where several overlap; nil when none reaches into the range.
func overrides(list []Override, from, to time.Time) []segment {
	var live []int // indexes of the overrides that reach into [from, to)
	for i := range list {
		o := &list[i]
		if o.Start.Before(o.End) && o.End.After(from) && o.Start.Before(to) {
			live = append(live, i)
		}
	}
	if len(live) == 0 {
		return nil
	}
	edges := []time.Time{from, to}
	for _, i := range live {
		edges = append(edges, clampTo(list[i].Start, from, to), clampTo(list[i].End, from, to))
	}
	slices.SortFunc(edges, time.Time.Compare)
	edges = slices.CompactFunc(edges, time.Time.Equal)
	slices.SortStableFunc(live, func(a, b int) int { return list[a].Start.Compare(list[b].Start) })

	// Sweep the edges with the started overrides in a heap ordered by
	// position in the list; an override that has ended is dropped when it
	// comes to the top.
	var active maxHeap
	var out []segment
	for e, k := 0, 0; e+1 < len(edges); e++ {
		at := edges[e]
		for ; k < len(live) && !list[live[k]].Start.After(at); k++ {
			heap.Push(&active, live[k])
		}
		for active.Len() > 0 && !list[active[0]].End.After(at) {
			heap.Pop(&active)
		}
		seg := segment{start: at, end: edges[e+1]}
		if active.Len() > 0 {
			seg.user, seg.on = list[active[0]].UserID, true
		}
		out = appendSegment(out, seg)
	}
	return out
}

// clampTo keeps t inside [from, to].
func clampTo(t, from, to time.Time) time.Time {
	switch {
	case t.Before(from):
		return from
	case t.After(to):
		return to
	}
	return t
}

// overlay lays the override tiling over the layers' tiling of the same
// range: where an override has someone it wins.
func overlay(base, over []segment) []segment {
	out := make([]segment, 0, len(base)+2*len(over))
	i, j := 0, 0
	for i < len(base) && j < len(over) {
		b, o := base[i], over[j]
		start := later(b.start, o.start)
		end := earlier(b.end, o.end)
		seg := b
		if o.on {
			seg = o
		}
		seg.start, seg.end = start, end
		out = appendSegment(out, seg)
		if !b.end.After(end) {
			i++
		}
		if !o.end.After(end) {
			j++
		}
	}
	return out
}

// appendSegment is appendPiece for segments.
func appendSegment(out []segment, s segment) []segment {
	if n := len(out); n > 0 && out[n-1].end.Equal(s.start) && out[n-1].on == s.on && (!s.on || out[n-1].user == s.user) {
		out[n-1].end = s.end
		return out
	}
	return append(out, s)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// maxHeap holds override indexes, the greatest (latest created) on top.
type maxHeap []int

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *maxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
