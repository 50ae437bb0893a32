// The minimal sale of docs/api.md, typed by the client openapi-typescript
// generates from internal/server/openapi.yaml (.ci/clients.sh). It must
// compile: a field with a default is optional.
import type { components, paths } from "./gen/openapi-typescript/schema";

type SaleBody = paths["/v1/payments"]["post"]["requestBody"]["content"]["application/json"];
type Payment = components["schemas"]["Payment"];

export const sale: SaleBody = { amount: "149.90", reference: "ECR-000123" };

export const receipt: components["schemas"]["SaleRequest"] = {
  amount: "30.00",
  reference: "ECR-000124",
  document_type: "1",
  items: [
    { name: "Bread", quantity: 2, unit_price: "5.00", total: "10.00", tax_group_code: "1" },
    { name: "Cheese", quantity: 1, unit_price: "20.00", total: "20.00", tax_group_code: "1" },
  ],
};

export const refund: components["schemas"]["RefundRequest"] = { amount: "30.00" };

export function approved(p: Payment): boolean {
  return p.status === "approved" && p.card?.type !== undefined;
}
