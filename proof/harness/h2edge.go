package harness

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Edge is an HTTP/2 front in front of the simulator, as a load balancer in
// front of iyzico is: TLS with a throwaway certificate authority (a daemon
// trusts it through SSL_CERT_FILE, see Env), ALPN h2 only, each stream
// forwarded to the simulator over HTTP/1.1. It is written with
// golang.org/x/net/http2's Framer and hpack, not its server, so that it can
// do what a proxy may do and a Go server never does: reset a stream with
// PROTOCOL_ERROR after it forwarded the request (so the request IS processed
// and charged). Go's HTTP/2 client re-sends such a request by itself,
// rewinding its body (see Edge faults).
type Edge struct {
	URL    string // https://127.0.0.1:port
	CAFile string // the PEM of the certificate authority the edge's certificate chains to

	upstream string
	ln       net.Listener
	client   *http.Client

	mu      sync.Mutex
	faults  []*edgeArm
	applied map[EdgeFaultKind]int
	conns   map[net.Conn]bool
	closed  bool
	wg      sync.WaitGroup
}

// EdgeFaultKind names what the edge does to a stream.
type EdgeFaultKind string

const (
	// EdgeResetAfterForward forwards the request to the simulator (it is
	// processed: a sale is charged), reads the answer, and instead of
	// answering resets the client's stream with RST_STREAM PROTOCOL_ERROR.
	// RFC 9113 §8.7 does not let a client assume that such a request was
	// not processed; Go's client re-sends it.
	EdgeResetAfterForward EdgeFaultKind = "h2_reset_after_forward"
	// EdgeRefuseStream resets the stream with REFUSED_STREAM without
	// forwarding it: the request was certainly not processed, and a client
	// may send it again.
	EdgeRefuseStream EdgeFaultKind = "h2_refused_stream"
)

// EdgeFault applies Kind to the next Times streams (0 means 1) whose path
// is Path, or, when Path is "", whose path is a terminal-host operation
// that uses the device (not a status query or refundable-sale-info).
type EdgeFault struct {
	Kind  EdgeFaultKind
	Path  string
	Times int
}

type edgeArm struct {
	EdgeFault
	left int
}

// StartEdge serves an edge on a loopback port in front of upstream (an
// http:// base URL), writing its certificate authority into dir. The edge
// closes when t ends.
func StartEdge(t testing.TB, upstream, dir string) *Edge {
	t.Helper()
	e, err := NewEdge(upstream, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// NewEdge is StartEdge for a caller that closes the edge itself.
func NewEdge(upstream, dir string) (*Edge, error) {
	caPEM, cert, err := edgeCertificates()
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, "edge-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &Edge{
		URL: "https://" + ln.Addr().String(), CAFile: caFile, upstream: strings.TrimSuffix(upstream, "/"),
		ln: tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"},
			MinVersion: tls.VersionTLS12}),
		client: &http.Client{
			Transport:     &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second, ForceAttemptHTTP2: false},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		applied: map[EdgeFaultKind]int{},
		conns:   map[net.Conn]bool{},
	}
	e.wg.Add(1)
	go e.accept()
	return e, nil
}

// Env is the environment a daemon needs to trust the edge.
func (e *Edge) Env() []string { return []string{"SSL_CERT_FILE=" + e.CAFile} }

// Inject arms a fault.
func (e *Edge) Inject(f EdgeFault) {
	switch f.Kind {
	case EdgeResetAfterForward, EdgeRefuseStream:
	default:
		panic("harness: unknown edge fault " + string(f.Kind))
	}
	left := max(f.Times, 1)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &edgeArm{EdgeFault: f, left: left})
}

// ClearFaults disarms every fault.
func (e *Edge) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

// Applied returns how many times each fault kind was applied.
func (e *Edge) Applied() map[EdgeFaultKind]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[EdgeFaultKind]int, len(e.applied))
	for k, v := range e.applied {
		out[k] = v
	}
	return out
}

// Close stops the edge and cuts its connections.
func (e *Edge) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	for c := range e.conns {
		_ = c.Close()
	}
	e.mu.Unlock()
	_ = e.ln.Close()
	e.wg.Wait()
	e.client.CloseIdleConnections()
}

// take consumes the first armed fault that matches path.
func (e *Edge) take(path string) (EdgeFaultKind, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, a := range e.faults {
		if (a.Path == "" && !devicePath(path)) || (a.Path != "" && a.Path != path) {
			continue
		}
		if a.left--; a.left == 0 {
			e.faults = append(e.faults[:i], e.faults[i+1:]...)
		}
		e.applied[a.Kind]++
		return a.Kind, true
	}
	return "", false
}

// devicePath reports whether a path is a terminal-host operation that uses
// the device: anything but a status query and refundable-sale-info.
func devicePath(p string) bool {
	return strings.HasPrefix(p, "/v2/terminal-host/") && !strings.HasSuffix(p, "/query-transaction-status") &&
		!strings.HasSuffix(p, "/refundable-sale-info")
}

func (e *Edge) accept() {
	defer e.wg.Done()
	for {
		c, err := e.ln.Accept()
		if err != nil {
			return
		}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			_ = c.Close()
			return
		}
		e.conns[c] = true
		e.mu.Unlock()
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer func() {
				e.mu.Lock()
				delete(e.conns, c)
				e.mu.Unlock()
				_ = c.Close()
			}()
			e.serveConn(c)
		}()
	}
}

// h2conn is one client connection.
type h2conn struct {
	e   *Edge
	c   net.Conn
	fr  *http2.Framer
	bw  *bufio.Writer
	ctx context.Context

	wmu    sync.Mutex // serializes frame writes and the header encoder
	enc    *hpack.Encoder
	encBuf bytes.Buffer

	fmu        sync.Mutex // flow control
	fcond      *sync.Cond
	connWindow int64
	initWindow int64
	maxFrame   uint32
	streams    map[uint32]*h2stream
	gone       bool
}

type h2stream struct {
	id      uint32
	header  http.Header
	method  string
	path    string
	body    bytes.Buffer
	window  int64
	cancel  context.CancelFunc
	ctx     context.Context
	started bool
}

func (e *Edge) serveConn(c net.Conn) {
	tc, ok := acceptH2(c)
	if !ok {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newH2conn(ctx, e, tc)
	h.write(func() error {
		return h.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 250})
	})
	defer h.close()
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				h.write(func() error { return h.fr.WriteRSTStream(se.StreamID, se.Code) })
				continue
			}
			return
		}
		if !h.frame(f) {
			return
		}
	}
}

// acceptH2 completes the TLS handshake (h2 negotiated) and reads the client
// preface, within ten seconds.
func acceptH2(c net.Conn) (*tls.Conn, bool) {
	tc := c.(*tls.Conn)
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil || tc.ConnectionState().NegotiatedProtocol != "h2" {
		return nil, false
	}
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(tc, preface); err != nil || string(preface) != http2.ClientPreface {
		return nil, false
	}
	_ = tc.SetDeadline(time.Time{})
	return tc, true
}

func newH2conn(ctx context.Context, e *Edge, tc *tls.Conn) *h2conn {
	bw := bufio.NewWriter(tc)
	h := &h2conn{e: e, c: tc, bw: bw, ctx: ctx, fr: http2.NewFramer(bw, tc), connWindow: 65535, initWindow: 65535,
		maxFrame: 16384, streams: map[uint32]*h2stream{}}
	h.fcond = sync.NewCond(&h.fmu)
	h.enc = hpack.NewEncoder(&h.encBuf)
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.fr.MaxHeaderListSize = 1 << 20
	return h
}

// close cancels every stream and wakes the writers waiting for a window.
func (h *h2conn) close() {
	h.fmu.Lock()
	h.gone = true
	for _, st := range h.streams {
		st.cancel()
	}
	h.fcond.Broadcast()
	h.fmu.Unlock()
}

// frame handles one frame from the client; false ends the connection.
func (h *h2conn) frame(f http2.Frame) bool {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if !f.IsAck() {
			h.settings(f)
		}
	case *http2.MetaHeadersFrame:
		st := h.open(f)
		if st != nil && f.StreamEnded() {
			h.dispatch(st)
		}
	case *http2.DataFrame:
		h.data(f)
	case *http2.WindowUpdateFrame:
		h.fmu.Lock()
		if f.StreamID == 0 {
			h.connWindow += int64(f.Increment)
		} else if st := h.streams[f.StreamID]; st != nil {
			st.window += int64(f.Increment)
		}
		h.fcond.Broadcast()
		h.fmu.Unlock()
	case *http2.PingFrame:
		if !f.IsAck() {
			data := f.Data
			h.write(func() error { return h.fr.WritePing(true, data) })
		}
	case *http2.RSTStreamFrame:
		h.fmu.Lock()
		if st := h.streams[f.StreamID]; st != nil {
			st.cancel() // the client gave up: the forwarded request is cancelled too
			delete(h.streams, f.StreamID)
		}
		h.fcond.Broadcast()
		h.fmu.Unlock()
	case *http2.GoAwayFrame:
		return false
	}
	return true
}

// settings applies the client's window and frame sizes, and acknowledges.
func (h *h2conn) settings(f *http2.SettingsFrame) {
	_ = f.ForeachSetting(func(s http2.Setting) error {
		h.fmu.Lock()
		defer h.fmu.Unlock()
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - h.initWindow
			h.initWindow = int64(s.Val)
			for _, st := range h.streams {
				st.window += delta
			}
			h.fcond.Broadcast()
		case http2.SettingMaxFrameSize:
			h.maxFrame = s.Val
		}
		return nil
	})
	h.write(func() error { return h.fr.WriteSettingsAck() })
}

// data takes a request body's bytes, gives the window back, and dispatches
// the request once its body ended.
func (h *h2conn) data(f *http2.DataFrame) {
	h.fmu.Lock()
	st := h.streams[f.StreamID]
	if st != nil && !st.started {
		st.body.Write(f.Data())
	}
	h.fmu.Unlock()
	if n := len(f.Data()); n > 0 {
		h.write(func() error {
			if err := h.fr.WriteWindowUpdate(0, uint32(n)); err != nil {
				return err
			}
			if st != nil && !f.StreamEnded() {
				return h.fr.WriteWindowUpdate(f.StreamID, uint32(n))
			}
			return nil
		})
	}
	if st != nil && f.StreamEnded() {
		h.dispatch(st)
	}
}

// write runs fn with the connection's writer, then flushes.
func (h *h2conn) write(fn func() error) {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if fn() == nil {
		_ = h.bw.Flush()
	}
}

func (h *h2conn) open(f *http2.MetaHeadersFrame) *h2stream {
	ctx, cancel := context.WithCancel(h.ctx)
	st := &h2stream{id: f.StreamID, header: http.Header{}, ctx: ctx, cancel: cancel}
	for _, hf := range f.Fields {
		switch hf.Name {
		case ":method":
			st.method = hf.Value
		case ":path":
			st.path = hf.Value
		case ":authority", ":scheme":
		default:
			if !strings.HasPrefix(hf.Name, ":") {
				st.header.Add(hf.Name, hf.Value)
			}
		}
	}
	h.fmu.Lock()
	defer h.fmu.Unlock()
	st.window = h.initWindow
	h.streams[f.StreamID] = st
	return st
}

// dispatch handles a complete request on its own goroutine.
func (h *h2conn) dispatch(st *h2stream) {
	h.fmu.Lock()
	st.started = true
	h.fmu.Unlock()
	go h.serveStream(st)
}

func (h *h2conn) serveStream(st *h2stream) {
	defer st.cancel()
	kind, faulted := h.e.take(st.path)
	if faulted {
		if kind == EdgeRefuseStream {
			h.reset(st, http2.ErrCodeRefusedStream)
			return
		}
	}
	req, err := http.NewRequestWithContext(st.ctx, st.method, h.e.upstream+st.path, bytes.NewReader(st.body.Bytes()))
	if err != nil {
		h.reset(st, http2.ErrCodeInternal)
		return
	}
	for k, vs := range st.header {
		switch strings.ToLower(k) {
		case "connection", "keep-alive", "te", "transfer-encoding", "upgrade", "content-length":
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	resp, err := h.e.client.Do(req)
	if err != nil {
		// The simulator cut the connection (a reset before processing, an
		// answer dropped after it) or the client cancelled: no answer.
		h.reset(st, http2.ErrCodeInternal)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		h.reset(st, http2.ErrCodeInternal)
		return
	}
	if faulted && kind == EdgeResetAfterForward {
		h.reset(st, http2.ErrCodeProtocol)
		return
	}
	h.respond(st, resp, body)
}

func (h *h2conn) reset(st *h2stream, code http2.ErrCode) {
	h.forget(st)
	h.write(func() error { return h.fr.WriteRSTStream(st.id, code) })
}

func (h *h2conn) forget(st *h2stream) {
	h.fmu.Lock()
	delete(h.streams, st.id)
	h.fmu.Unlock()
}

func (h *h2conn) respond(st *h2stream, resp *http.Response, body []byte) {
	h.wmu.Lock()
	h.encBuf.Reset()
	_ = h.enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(resp.StatusCode)})
	for k, vs := range resp.Header {
		lk := strings.ToLower(k)
		switch lk {
		case "connection", "keep-alive", "transfer-encoding", "content-length":
			continue
		}
		for _, v := range vs {
			_ = h.enc.WriteField(hpack.HeaderField{Name: lk, Value: v})
		}
	}
	_ = h.enc.WriteField(hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(len(body))})
	err := h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: st.id, BlockFragment: h.encBuf.Bytes(),
		EndHeaders: true, EndStream: len(body) == 0})
	if err == nil {
		_ = h.bw.Flush()
	}
	h.wmu.Unlock()
	for len(body) > 0 {
		n, ok := h.reserve(st, len(body))
		if !ok {
			return
		}
		chunk, end := body[:n], n == len(body)
		body = body[n:]
		h.write(func() error { return h.fr.WriteData(st.id, end, chunk) })
	}
	h.forget(st)
}

// reserve waits for flow-control window and takes up to want bytes of it.
func (h *h2conn) reserve(st *h2stream, want int) (int, bool) {
	h.fmu.Lock()
	defer h.fmu.Unlock()
	for {
		if h.gone || st.ctx.Err() != nil {
			return 0, false
		}
		n := min(int64(want), h.connWindow, st.window, int64(h.maxFrame))
		if n > 0 {
			h.connWindow -= n
			st.window -= n
			return int(n), true
		}
		h.fcond.Wait()
	}
}

// edgeCertificates makes a throwaway certificate authority and a server
// certificate for 127.0.0.1 and localhost signed by it.
func edgeCertificates() (caPEM []byte, cert tls.Certificate, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bridged proof edge CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, cert, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, cert, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, cert, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, cert, err
	}
	cert, err = tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		return nil, cert, fmt.Errorf("edge certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), cert, nil
}
