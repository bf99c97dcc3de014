package main

import (
	"math"
	"testing"
	"time"
)

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 100000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 1} {
		want := q * 100000 * float64(time.Microsecond)
		got := float64(h.quantile(q))
		if math.Abs(got-want)/want > 0.01 {
			t.Errorf("quantile(%v) = %v, want %v within 1%%", q, time.Duration(got), time.Duration(want))
		}
	}
	if h.max != int64(100*time.Millisecond) {
		t.Errorf("max = %v", time.Duration(h.max))
	}
}

func TestHistBucketsContinuous(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<20; v++ {
		b := bucketOf(v)
		if b != prev && b != prev+1 {
			t.Fatalf("bucketOf(%d) = %d after %d", v, b, prev)
		}
		if m := bucketMid(b); math.Abs(float64(m-v)) > float64(v)/subCount+1 {
			t.Fatalf("bucketMid(bucketOf(%d)) = %d", v, m)
		}
		prev = b
	}
	if b := bucketOf(math.MaxInt64); b != histBuckets-1 {
		t.Errorf("bucketOf(max) = %d", b)
	}
}

func TestAcceptedCount(t *testing.T) {
	for body, want := range map[string]int64{
		`{"accepted":100,"rejected":0,"results":[]}`: 100,
		`{"accepted": 7,"rejected":93}`:              7,
		`{"rejected":1}`:                             0,
	} {
		if got := acceptedCount([]byte(body)); got != want {
			t.Errorf("acceptedCount(%s) = %d, want %d", body, got, want)
		}
	}
}
