package simulator

import "net/http"

// Operation names, used in Fault.Op, Request.Op and CardEvent.Op.
const (
	OpAuthorize    = "authorize"
	OpToken        = "token"
	OpTokenRefresh = "token_refresh"

	OpPayment = "payment" // VUK 509
	OpQuery   = "query"
	OpVoid    = "void"
	OpRefund  = "refund"
	OpEOD     = "eod"

	OpGmuPayment            = "gmu_payment" // VUK 507
	OpGmuQuery              = "gmu_query"
	OpGmuVoid               = "gmu_void"
	OpGmuRefund             = "gmu_refund"
	OpGmuRefundableSaleInfo = "gmu_refundable_sale_info"
	OpGmuPartialStart       = "gmu_partial_start"
	OpGmuPartialAdd         = "gmu_partial_add"
	OpGmuPartialComplete    = "gmu_partial_complete"
	OpGmuEOD                = "gmu_eod"
)

// Paths of the 17 operations, exactly as spec §2-§4 give them.
const (
	PathAuthorize    = "/in-store/oauth2/authorize"
	PathToken        = "/in-store/oauth2/token"
	PathTokenRefresh = "/in-store/oauth2/token/refresh"

	PathPayment = "/v2/terminal-host/payment"
	PathQuery   = "/v2/terminal-host/payment/query-transaction-status"
	PathVoid    = "/v2/terminal-host/payment/void"
	PathRefund  = "/v2/terminal-host/payment/refund"
	PathEOD     = "/v2/terminal-host/eod"

	PathGmuPayment            = "/v2/terminal-host/gmu/payment"
	PathGmuQuery              = "/v2/terminal-host/gmu/payment/query-transaction-status"
	PathGmuVoid               = "/v2/terminal-host/gmu/payment/void"
	PathGmuRefund             = "/v2/terminal-host/gmu/payment/refund"
	PathGmuRefundableSaleInfo = "/v2/terminal-host/gmu/payment/refundable-sale-info"
	PathGmuPartialStart       = "/v2/terminal-host/gmu/partial-payment/start"
	PathGmuPartialAdd         = "/v2/terminal-host/gmu/partial-payment/add-payment"
	PathGmuPartialComplete    = "/v2/terminal-host/gmu/partial-payment/complete"
	PathGmuEOD                = "/v2/terminal-host/gmu/eod"
)

// route binds an operation to its path, its API family and its handler.
type route struct {
	op, path string
	fam      family
	oauth    func(*call) reply       // OAuth operations: form bodies, own authentication
	service  func(*call, body) reply // terminal-host operations: bearer token, JSON schema
}

// routes lists every endpoint the simulator serves; it is the one place to read them.
func (s *Sim) routes() []route {
	return []route{
		{op: OpAuthorize, path: PathAuthorize, fam: famOAuth, oauth: s.authorize},
		{op: OpToken, path: PathToken, fam: famOAuth, oauth: s.token},
		{op: OpTokenRefresh, path: PathTokenRefresh, fam: famOAuth, oauth: s.tokenRefresh},

		{op: OpPayment, path: PathPayment, fam: fam509, service: s.payment509},
		{op: OpQuery, path: PathQuery, fam: fam509, service: s.query509},
		{op: OpVoid, path: PathVoid, fam: fam509, service: s.void509},
		{op: OpRefund, path: PathRefund, fam: fam509, service: s.refund509},
		{op: OpEOD, path: PathEOD, fam: fam509, service: s.eod509},

		{op: OpGmuPayment, path: PathGmuPayment, fam: fam507, service: s.gmuPayment},
		{op: OpGmuQuery, path: PathGmuQuery, fam: fam507, service: s.gmuQuery},
		{op: OpGmuVoid, path: PathGmuVoid, fam: fam507, service: s.gmuVoid},
		{op: OpGmuRefund, path: PathGmuRefund, fam: fam507, service: s.gmuRefund},
		{op: OpGmuRefundableSaleInfo, path: PathGmuRefundableSaleInfo, fam: fam507, service: s.gmuRefundableSaleInfo},
		{op: OpGmuPartialStart, path: PathGmuPartialStart, fam: fam507, service: s.gmuPartialStart},
		{op: OpGmuPartialAdd, path: PathGmuPartialAdd, fam: fam507, service: s.gmuPartialAdd},
		{op: OpGmuPartialComplete, path: PathGmuPartialComplete, fam: fam507, service: s.gmuPartialComplete},
		{op: OpGmuEOD, path: PathGmuEOD, fam: fam507, service: s.gmuEOD},
	}
}

func knownOp(op string) bool {
	switch op {
	case OpAuthorize, OpToken, OpTokenRefresh,
		OpPayment, OpQuery, OpVoid, OpRefund, OpEOD,
		OpGmuPayment, OpGmuQuery, OpGmuVoid, OpGmuRefund, OpGmuRefundableSaleInfo,
		OpGmuPartialStart, OpGmuPartialAdd, OpGmuPartialComplete, OpGmuEOD:
		return true
	}
	return false
}

func (s *Sim) buildHandler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle("POST "+rt.path, s.serve(rt))
	}
	s.controlRoutes(mux)
	mux.Handle("/", s.serve(route{})) // recorded, then 404
	return mux
}
