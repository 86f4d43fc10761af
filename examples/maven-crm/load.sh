#!/usr/bin/env bash
# Build a leadledger project from Maven Analytics' fictitious "CRM Sales Opportunities" data.
#
#   examples/maven-crm/load.sh DATASET_DIR PROJECT_DIR
#
# DATASET_DIR holds sales_pipeline.csv (e.g. ../shared/datasets/maven-crm-sales-opportunities).
# PROJECT_DIR must not hold a project yet. Needs the `leadledger` command on PATH.
# Open deals without a value and Prospecting rows without a date are rejected by design (see
# pipeline-deals.yaml): the import runs with --allow-rejects and they are in the import's
# quarantine.csv.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 DATASET_DIR PROJECT_DIR" >&2
  exit 2
fi
DATA=$1
PROJECT=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PIPELINE=$DATA/sales_pipeline.csv
[[ -f $PIPELINE ]] || { echo "$0: $PIPELINE not found" >&2; exit 2; }

leadledger init "$PROJECT"
cp "$HERE/project.yaml" "$PROJECT/leadledger.yaml"
leadledger validate --project "$PROJECT"
leadledger import deals "$PIPELINE" --mapping "$HERE/pipeline-deals.yaml" --allow-rejects \
  --project "$PROJECT"

echo "project ready: $PROJECT"
