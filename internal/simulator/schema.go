package simulator

// This file declares the request schema of every terminal-host operation, as
// spec §3 (VUK 509) and §4 (VUK 507) give them. Switches of Config that change a
// schema (open questions 1, 3 and 7) are applied here and nowhere else.

// schemas holds one request schema per operation name.
type schemas map[string]schema

func buildSchemas(cfg Config) schemas {
	s := schemas509(cfg)
	for name, sc := range schemas507(cfg) {
		s[name] = sc
	}
	return s
}

// The enumerations the schemas check.
var (
	localeEnum509   = []string{"tr", "en"}
	currencyEnum    = []string{"TRY", "USD", "EUR"}
	salesTypeEnum   = []string{"SALE", "PRE_AUTH", "POST_AUTH"}
	paymentTypeEnum = []string{"CARD", "CASH"}
	documentEnum    = []string{"1", "9"}
	customerEnum    = []string{"1", "2"}
	installmentEnum = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}
)

func req(name string, k jsonKind) field { return field{name: name, kind: k, required: true} }
func opt(name string, k jsonKind) field { return field{name: name, kind: k} }

// deviceID is deviceUniqueId, at most maxDeviceIDLen characters.
func deviceID(required bool) field {
	return field{name: "deviceUniqueId", kind: kString, required: required, maxLen: maxDeviceIDLen}
}

// common509 is a VUK 509 body: conversationId and locale are required
// everywhere (spec §3).
func common509(fs ...field) schema {
	return append(schema{
		req("conversationId", kString),
		field{name: "locale", kind: kString, required: true, enum: localeEnum509},
	}, fs...)
}

// common507 is a VUK 507 body: both optional, locale free text defaulting to
// TR (spec §4).
func common507(fs ...field) schema {
	return append(schema{opt("locale", kString), opt("conversationId", kString)}, fs...)
}

// schemas509 is the VUK 509 operations' schemas (spec §3).
func schemas509(cfg Config) schemas {
	queryID := func(name string) field {
		f := opt(name, kString)
		f.required = cfg.StrictQuery509
		if name == "deviceUniqueId" {
			f.maxLen = maxDeviceIDLen
		}
		return f
	}
	return schemas{
		OpPayment: common509(
			deviceID(true),
			req("transactionReferenceId", kString),
			req("price", kAmount),
			field{name: "currency", kind: kString, required: true, enum: currencyEnum},
			field{name: "installment", kind: kInteger, required: true, enum: installmentEnum},
			// With AcceptSaleType the handler checks that one of the two spellings is there.
			field{name: "salesType", kind: kString, required: !cfg.AcceptSaleType, enum: salesTypeEnum},
			opt("paymentId", kString),
		),
		OpQuery: common509(
			queryID("paymentId"),
			queryID("deviceUniqueId"),
			queryID("transactionReferenceId"),
		),
		OpVoid: common509(
			req("paymentId", kString),
			req("paymentDate", kDate),
			deviceID(true),
			req("transactionReferenceId", kString),
			opt("reason", kString),
			opt("description", kString),
		),
		OpRefund: common509(
			req("paymentId", kString),
			deviceID(true),
			req("price", kAmount),
			req("transactionReferenceId", kString),
			req("paymentDate", kDate),
			opt("reason", kString),
			opt("description", kString),
		),
		OpEOD: common509(deviceID(true), opt("useSummary", kBool)),
	}
}

// schemas507 is the VUK 507 operations' schemas (spec §4).
func schemas507(cfg Config) schemas {
	gmuSale := gmuSaleSchema(cfg)
	return schemas{
		OpGmuPayment: gmuSale,
		OpGmuQuery: common507(
			opt("paymentId", kString),
			deviceID(false),
			opt("transactionReferenceId", kString),
		),
		OpGmuVoid: common507(
			deviceID(true),
			req("paymentId", kString),
			req("paymentDate", kIntDate),
			req("transactionReferenceId", kString),
			opt("reason", kString),
			opt("description", kString),
		),
		OpGmuRefund: common507(
			deviceID(true),
			req("paymentId", kString),
			req("paymentDate", kIntDate),
			req("transactionReferenceId", kString),
			req("saleAppName", kString),
			req("saleAppVersion", kString),
			opt("notificationPhone", kString),
			opt("notificationEmail", kString),
			field{name: "saleItems", kind: kObjects, required: true, minItems: 1, fields: saleItemFields(cfg, true)},
		),
		OpGmuRefundableSaleInfo: common507(deviceID(false), req("transactionReferenceId", kString)),
		OpGmuPartialStart:       gmuSale,
		OpGmuPartialAdd: common507(
			deviceID(false),
			opt("transactionReferenceId", kString),
			req("saleNumber", kString),
			req("price", kAmount),
			opt("installment", kInteger),
			field{name: "currency", kind: kString, enum: currencyEnum},
		),
		OpGmuPartialComplete: common507(
			deviceID(true),
			req("transactionReferenceId", kString),
			req("saleNumber", kString),
		),
		OpGmuEOD: common507(deviceID(true), opt("useSummary", kBool)),
	}
}

// gmuSaleSchema is the body of a VUK 507 sale, and of partial-payment/start.
func gmuSaleSchema(cfg Config) schema {
	return common507(
		deviceID(true),
		req("transactionReferenceId", kString),
		req("price", kAmount),
		req("paidPrice", kAmount),
		field{name: "paymentType", kind: kString, required: true, enum: paymentTypeEnum},
		field{name: "currency", kind: kString, enum: currencyEnum},
		opt("installment", kInteger),
		req("saleAppName", kString),
		req("saleAppVersion", kString),
		field{name: "saleDocumentType", kind: kString, required: true, enum: documentEnum},
		opt("notificationPhone", kString),
		opt("notificationEmail", kString),
		field{name: "saleItems", kind: kObjects, required: true, minItems: 1, fields: saleItemFields(cfg, false)},
		field{name: "buyerInfo", kind: kObject, fields: buyerFields()},
	)
}

// saleItemFields is a sale line; a refund's lines (and, with
// RequireReturnFieldsOnSale, a sale's) need relatedSaleItemId and returnAmount.
func saleItemFields(cfg Config, refund bool) []field {
	lineRefund := refund || cfg.RequireReturnFieldsOnSale
	return []field{
		{name: "relatedSaleItemId", kind: kString, required: lineRefund},
		req("name", kString),
		opt("generic", kBool),
		req("unitCode", kString),
		req("taxGroupCode", kString),
		req("itemQuantity", kInteger),
		req("unitPriceAmount", kAmount),
		req("grossPriceAmount", kAmount),
		req("totalPriceAmount", kAmount),
		{name: "returnAmount", kind: kAmount, required: lineRefund},
	}
}

// buyerFields is a VUK 507 sale's buyerInfo.
func buyerFields() []field {
	return []field{
		{name: "customerType", kind: kInteger, enum: customerEnum},
		opt("firstName", kString), opt("middleName", kString), opt("familyName", kString),
		opt("companyName", kString), opt("taxOfficeCode", kString), opt("taxNumber", kString),
		opt("country", kString), opt("city", kString), opt("district", kString),
	}
}
