package main

import (
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram in the manner of HDR histograms:
// values below 2^subBits ns are counted exactly, larger ones in buckets whose
// width is 1/2^subBits of their magnitude (under 1% relative error). Adding a
// value is a few arithmetic operations and one increment, with no allocation,
// so each worker keeps its own and they are merged at the end.
type hist struct {
	counts [histBuckets]uint64
	n      uint64
	max    int64
}

const (
	subBits     = 7
	subCount    = 1 << subBits
	maxShift    = 40 // values up to 2^(maxShift+subBits) ns, about 50 hours
	histBuckets = (maxShift + 2) * subCount
)

func bucketOf(v int64) int {
	if v < subCount {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - 1 - subBits
	if shift > maxShift {
		return histBuckets - 1
	}
	return (shift+1)*subCount + int(uint64(v)>>uint(shift)) - subCount
}

// bucketMid is the middle of bucket i, the value reported for it.
func bucketMid(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	shift := i/subCount - 1
	m := int64(i%subCount + subCount)
	lo := m << uint(shift)
	return lo + (int64(1)<<uint(shift))/2
}

func (h *hist) add(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)]++
	h.n++
	if v > h.max {
		h.max = v
	}
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile is the value at quantile q (0 < q ≤ 1), never above the exact
// maximum.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketMid(i), h.max))
		}
	}
	return time.Duration(h.max)
}
