#!/usr/bin/env bash
# Build a leadledger project from the "Marketing Funnel by Olist" dataset.
#
#   examples/olist/load.sh DATASET_DIR PROJECT_DIR
#
# DATASET_DIR holds olist_marketing_qualified_leads_dataset.csv and
# olist_closed_deals_dataset.csv (e.g. ../shared/datasets/olist-marketing-funnel; the data is
# CC BY-NC-SA 4.0 and not in this repository). PROJECT_DIR must not hold a project yet.
# Needs the `leadledger` command on PATH. Every import prints its counts; the script stops at
# the first import that rejects a row (the row is in the import's quarantine.csv).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 DATASET_DIR PROJECT_DIR" >&2
  exit 2
fi
DATA=$1
PROJECT=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MQL=$DATA/olist_marketing_qualified_leads_dataset.csv
DEALS=$DATA/olist_closed_deals_dataset.csv
for f in "$MQL" "$DEALS"; do
  [[ -f $f ]] || { echo "$0: $f not found" >&2; exit 2; }
done

leadledger init "$PROJECT"
cp "$HERE/project.yaml" "$PROJECT/leadledger.yaml"
leadledger validate --project "$PROJECT"

# 1. The 8,000 MQLs: leads (created at first_contact_date) + an `mql` stage event each.
leadledger import leads "$MQL" --mapping "$HERE/mql-leads.yaml" --project "$PROJECT"
# 2. The 842 won deals: a `customer` stage event at won_date ...
leadledger import stages "$DEALS" --mapping "$HERE/closed-deals-stages.yaml" --project "$PROJECT"
# 3. ... the attributes the SDR recorded, as an update of the existing leads ...
leadledger import leads "$DEALS" --mapping "$HERE/closed-deals-leads.yaml" --project "$PROJECT"
# 4. ... and the deals themselves (won, BRL).
leadledger import deals "$DEALS" --mapping "$HERE/closed-deals-deals.yaml" --project "$PROJECT"

echo "project ready: $PROJECT (try: leadledger report stages --project $PROJECT --from 2017-06-01 --to 2018-05-31)"
