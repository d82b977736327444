/** The commented config.yaml that `init` writes. Every value shown is the default. */
export const CONFIG_TEMPLATE = `# yaml-language-server: $schema=schemas/config.schema.json
# OpenChargeback billing repository settings.
# Every setting is optional; the values shown are the defaults.
# Reference: docs/OPERATIONS.md#configuration

organization:
  name: Research Computing          # shown on statements
  # department: Office of Research
  # contact_name: Research Computing Billing
  # contact_email: rc-billing@example.edu

billing:
  cost_basis: BilledCost            # BilledCost (cash, ties to the invoice) or EffectiveCost (amortized)
  default_currency: USD             # for files without a BillingCurrency column
  # minor_units: { JPY: 0 }         # digits of the minor unit, where ICU's default is not wanted
  zero_list_cost: unknown           # ListCost 0 on a charge that costs more (Azure Marketplace): no list price, or zero

# Which Tags keys attribute a charge. Keys match case-insensitively, after stripping the prefixes.
tag_mapping:
  pi_email: [pi_email]
  project_id: [project_id, project]
  fund_org: [fund_org]
  cost_center: [cost_center]
  account_code: [account_code]
  reference_1: [reference_1, grant_number]
  reference_2: [reference_2, ticket]
  strip_prefixes: ["user:", "tag:", "resourceTags/", "costCategory/"]

# Where exports come from: \`ingest --source <name>\` stores data/<period>/<slug>.csv
sources:
  - name: AWS
  - name: Azure
  - name: GCP
  - name: HPC
  - name: Storage
  - name: VMs
  # - name: Azure Local
  #   slug: azure-local
  #   recharge_fund_org: "100000-9999"
  #   gl_account: "5410"

# Charges that match a rule are held for review in periods/<period>/flags.yaml.
flag_rules:
  missing_pi_email: true
  missing_project_id: true
  missing_fund_org: true
  invalid_tags: true
  period_mismatch: true
  unknown_category: true            # a ChargeCategory other than Usage, Purchase, Tax, Credit, Adjustment
  conflicting_tags: true            # a PI, project or fund/org given twice in Tags with different values
  fund_org_patterns: []             # e.g. ['\\d{6}-\\d{4}']: fund/org must fully match one
  patterns: []                      # e.g. [{ field: service, pattern: 'GPU', message: GPU use needs approval }]
  max_flags: 50000                  # an export that would hold more for review in a period is refused (at most 100000)
`;
