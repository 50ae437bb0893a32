package upstream

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Edge is a scripted HTTP/2 server speaking raw frames (the way a load
// balancer in front of iyzico may behave): every request is handed to an
// http.Handler, and reset decides, per completed request, whether the client
// gets the handler's answer or an RST_STREAM with that error code instead,
// after the handler has processed the request.
type h2Edge struct {
	t       testing.TB
	ln      net.Listener
	pool    *x509.CertPool
	handler http.Handler
	reset   func(path string, n int) (http2.ErrCode, bool) // n: 1-based count of requests to path
	goaway  func(path string, n int) bool                  // answer with GOAWAY(lastStream < this one) instead

	mu    sync.Mutex
	seen  map[string]int
	conns []net.Conn
	wg    sync.WaitGroup
}

func newH2Edge(t testing.TB, handler http.Handler) *h2Edge {
	t.Helper()
	cert, pool := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	e := &h2Edge{t: t, ln: ln, pool: pool, handler: handler, seen: map[string]int{}}
	e.wg.Add(1)
	go e.accept()
	t.Cleanup(func() {
		ln.Close()
		e.mu.Lock()
		for _, c := range e.conns {
			c.Close()
		}
		e.mu.Unlock()
		e.wg.Wait()
	})
	return e
}

func (e *h2Edge) URL() string { return "https://" + e.ln.Addr().String() }

// trust makes a client built by New trust the edge's certificate: it is the
// production transport, told nothing else.
func (e *h2Edge) trust(cfg *Config) {
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		tr := rt.(*http.Transport)
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.RootCAs = e.pool
		return tr
	}
}

func (e *h2Edge) count(path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seen[path]
}

func (e *h2Edge) accept() {
	defer e.wg.Done()
	for {
		c, err := e.ln.Accept()
		if err != nil {
			return
		}
		e.mu.Lock()
		e.conns = append(e.conns, c)
		e.mu.Unlock()
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer c.Close()
			e.serve(c)
		}()
	}
}

type h2Stream struct {
	header http.Header
	method string
	path   string
	body   bytes.Buffer
}

func (e *h2Edge) serve(c net.Conn) {
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var wmu sync.Mutex
	write := func(f func() error) {
		wmu.Lock()
		defer wmu.Unlock()
		_ = f()
	}
	write(func() error { return fr.WriteSettings() })
	streams := map[uint32]*h2Stream{}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				write(func() error { return fr.WriteSettingsAck() })
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				write(func() error { return fr.WritePing(true, f.Data) })
			}
		case *http2.MetaHeadersFrame:
			st := &h2Stream{header: http.Header{}}
			for _, hf := range f.Fields {
				switch hf.Name {
				case ":method":
					st.method = hf.Value
				case ":path":
					st.path = hf.Value
				default:
					if hf.Name[0] != ':' {
						st.header.Add(hf.Name, hf.Value)
					}
				}
			}
			streams[f.StreamID] = st
			if f.StreamEnded() {
				e.complete(fr, write, f.StreamID, st)
			}
		case *http2.DataFrame:
			st := streams[f.StreamID]
			if st == nil {
				continue
			}
			st.body.Write(f.Data())
			if n := len(f.Data()); n > 0 {
				write(func() error { return fr.WriteWindowUpdate(0, uint32(n)) })
			}
			if f.StreamEnded() {
				e.complete(fr, write, f.StreamID, st)
			}
		}
	}
}

// complete processes one whole request: the handler always runs (the
// request reached iyzico), then the client gets its answer, or a reset.
func (e *h2Edge) complete(fr *http2.Framer, write func(func() error), id uint32, st *h2Stream) {
	e.mu.Lock()
	e.seen[st.path]++
	n := e.seen[st.path]
	e.mu.Unlock()
	req := httptest.NewRequest(st.method, st.path, bytes.NewReader(st.body.Bytes()))
	req.Header = st.header
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if e.goaway != nil && e.goaway(st.path, n) {
		write(func() error { return fr.WriteGoAway(id-2, http2.ErrCodeNo, nil) })
		return
	}
	if e.reset != nil {
		if code, ok := e.reset(st.path, n); ok {
			write(func() error { return fr.WriteRSTStream(id, code) })
			return
		}
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(rec.Code)})
	for k, vs := range rec.Header() {
		for _, v := range vs {
			_ = enc.WriteField(hpack.HeaderField{Name: strings.ToLower(k), Value: v})
		}
	}
	body := rec.Body.Bytes()
	write(func() error {
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
			return err
		}
		return fr.WriteData(id, true, body)
	})
}

// selfSigned makes a throwaway certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edge"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestHTTP2StreamResetNeverResendsACardRequest: Go's HTTP/2 client retries a
// request whose stream the peer reset with PROTOCOL_ERROR or REFUSED_STREAM,
// or that a GOAWAY left unprocessed, rewinding its body (golang/go#47635).
// An edge in front of iyzico may reset a stream after it forwarded the
// request: the sale then reaches iyzico twice and the copy's "reference
// already used" refusal reads as a decline. A card request must reach the
// server at most once, and a lost answer is Unknown.
func TestHTTP2StreamResetNeverResendsACardRequest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reset  http2.ErrCode
		goaway bool
	}{
		{name: "protocol error", reset: http2.ErrCodeProtocol},
		{name: "refused stream", reset: http2.ErrCodeRefusedStream},
		{name: "goaway", goaway: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, charges := chargingFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					writeJSON(w, 200, map[string]any{"status": "SUCCESS", "paymentId": "p-1", "price": 1.00, "currency": "TRY"})
					return
				}
				fail(400, "389901", "BUSINESS_ERROR")(w, r, nil, n) // the copy: "reference already used"
			})
			edge := newH2Edge(t, f.srv.Config.Handler)
			if tc.goaway {
				edge.goaway = func(path string, n int) bool { return path == PathPayment && n == 1 }
			} else {
				edge.reset = func(path string, n int) (http2.ErrCode, bool) { return tc.reset, path == PathPayment && n == 1 }
			}
			h := start(t, edge.URL(), edge.trust)
			_, err := h.c.Payment(context.Background(), sale("ref-h2", 100))
			e := wantClass(t, err, Unknown)
			if got := edge.count(PathPayment); got != 1 {
				t.Fatalf("iyzico received the sale %d times, want 1 (charges %d); outcome %s/%s", got, charges("ref-h2"), e.Class, e.Reason)
			}
			if e.Resent {
				t.Fatalf("the outcome says resent: %#v", e)
			}
		})
	}
}

// TestHTTP2IsStillSpoken: the fix keeps HTTP/2 (no resend, not no h2).
func TestHTTP2IsStillSpoken(t *testing.T) {
	f := newFake(t)
	f.set(func(w http.ResponseWriter, r *http.Request, body []byte, n int) {
		writeJSON(w, 200, map[string]any{"status": "SUCCESS", "paymentId": "p-1", "price": 1.00, "currency": "TRY"})
	})
	edge := newH2Edge(t, f.srv.Config.Handler)
	h := start(t, edge.URL(), edge.trust)
	if _, err := h.c.Payment(context.Background(), sale("ref-h2ok", 100)); err != nil {
		t.Fatalf("sale over HTTP/2: %v", err)
	}
	if edge.count(PathPayment) != 1 {
		t.Fatalf("payment requests over h2: %d", edge.count(PathPayment))
	}
}
