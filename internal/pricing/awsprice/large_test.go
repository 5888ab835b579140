package awsprice

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/pricing"
)

// largeOffer writes a synthetic offer file of about size bytes in the real
// shape: mostly non-GPU products with their on-demand and reserved terms
// (as a real region's file is), and one GPU product, p5.48xlarge at 55.04,
// in the middle. It is generated on the fly so that no large fixture lives
// in the repository or in memory.
func largeOffer(w io.Writer, size int64) int64 {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	bw.WriteString(`{"formatVersion":"v1.0","disclaimer":"synthetic","offerCode":"AmazonEC2","version":"20261101000000","publicationDate":"2026-11-20T18:02:29Z","products":{` + "\n")
	filler := func(sku string) string {
		return productJSON(sku, "m5.24xlarge", "NA", "NA", "96", "384 GiB", "Linux", "Shared", "NA", "Used", "AWS Region", "us-east-1")
	}
	// One product and its terms take about per bytes.
	per := int64(len(filler("F0000000")) + len(onDemandJSON("F0000000", "4.6080000000")) + 3*len(reservedJSON("F0000000")))
	n := int(size / per)
	sku := func(i int) string { return "F" + strconv.Itoa(10000000+i) }
	for i := 0; i < n; i++ {
		if i > 0 {
			bw.WriteString(",\n")
		}
		if i == n/2 {
			bw.WriteString(productJSON("GPU1", "p5.48xlarge", "8", "640 GB", "192", "2,048 GiB", "Linux", "Shared", "NA", "Used", "AWS Region", "us-east-1"))
			bw.WriteString(",\n")
		}
		bw.WriteString(filler(sku(i)))
	}
	bw.WriteString("\n},\n\"terms\":{\n\"OnDemand\":{\n")
	for i := 0; i < n; i++ {
		if i > 0 {
			bw.WriteString(",\n")
		}
		if i == n/2 {
			bw.WriteString(onDemandJSON("GPU1", "55.0400000000"))
			bw.WriteString(",\n")
		}
		bw.WriteString(onDemandJSON(sku(i), "4.6080000000"))
	}
	bw.WriteString("\n},\n\"Reserved\":{\n")
	for i := 0; i < 3*n; i++ {
		if i > 0 {
			bw.WriteString(",\n")
		}
		bw.WriteString(reservedJSON(sku(i/3) + "." + strconv.Itoa(i%3)))
	}
	bw.WriteString("\n}\n}\n}\n")
	bw.Flush()
	return cw.n
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// TestLargeOfferFileBoundedMemory streams a generated offer file of
// hundreds of MB (600 MB, the size class of the largest regions' files; 50 MB
// under the race detector, which slows decoding about tenfold) through
// Fetch and checks the heap never holds more than a small bound, however
// large the file.
func TestLargeOfferFileBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams hundreds of MB")
	}
	size := int64(600 << 20)
	if raceEnabled {
		size = 50 << 20
	}
	const heapBound = 48 << 20
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == indexPath {
			_, _ = w.Write([]byte(regionIndexJSON(map[string]string{"us-east-1": "20261101000000"})))
			return
		}
		served.Store(largeOffer(w, size))
	}))
	defer srv.Close()

	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
			}
		}
	}()
	start := time.Now()
	res, err := New(Config{BaseURL: srv.URL}).Fetch(context.Background(), pricing.Request{Regions: []string{"us-east-1"}, Shapes: awsShapes(t)})
	elapsed := time.Since(start)
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Offers) != 1 || res.Offers[0].InstanceType != "p5.48xlarge" || res.Offers[0].PriceHourly != 55.04 {
		t.Fatalf("offers = %+v, want p5.48xlarge at 55.04 alone", res.Offers)
	}
	n := served.Load()
	if n < size*9/10 {
		t.Fatalf("served %d bytes, want about %d", n, size)
	}
	t.Logf("streamed %d MB in %s (%.0f MB/s), peak heap %.1f MiB", n>>20, elapsed.Round(time.Millisecond),
		float64(n)/1e6/elapsed.Seconds(), float64(peak.Load())/(1<<20))
	if p := peak.Load(); p > heapBound {
		t.Errorf("peak heap %d MiB, want under %d MiB: the decoder holds the file", p>>20, heapBound>>20)
	}
}
