#!/usr/bin/env bash
# npm run demo: bring up what is needed, then train the linear-regression example end to end with the crml CLI.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
[ -f dist/cli/bin.js ] || npm run --silent build

export CRML_DATA_DIR="${CRML_DATA_DIR:-$PWD/.work/demo}"
mkdir -p .work
crml() { node dist/cli/bin.js "$@"; }
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }

echo "== configured model algorithm"
ALGORITHM=$(crml create-configured-model-algorithm \
  --name linear-regression \
  --role-arn arn:aws:iam::123456789012:role/cleanrooms-ml-demo \
  --training-container-config '{
    "imageUri": "crml-examples/linear-regression:latest",
    "metricDefinitions": [
      {"name": "train:loss", "regex": "train_loss=([0-9.eE+-]+)"},
      {"name": "validation:loss", "regex": "validation_loss=([0-9.eE+-]+)"}
    ]}' | field configuredModelAlgorithmArn)
echo "$ALGORITHM"

echo "== association"
ASSOCIATION=$(crml create-configured-model-algorithm-association \
  --name linear-regression --configured-model-algorithm-arn "$ALGORITHM" | field configuredModelAlgorithmAssociationArn)
echo "$ASSOCIATION"

echo "== ML input channels (local folders)"
DATA=examples/algorithms/linear-regression/data
TRAIN=$(crml create-ml-input-channel --name train --retention-in-days 1 \
  --configured-model-algorithm-associations "[\"$ASSOCIATION\"]" --local-path "$DATA/train" | field mlInputChannelArn)
VALIDATION=$(crml create-ml-input-channel --name validation --retention-in-days 1 \
  --configured-model-algorithm-associations "[\"$ASSOCIATION\"]" --local-path "$DATA/validation" | field mlInputChannelArn)
echo "$TRAIN"; echo "$VALIDATION"

echo "== trained model (runs here, in a container)"
crml create-trained-model --name demo \
  --configured-model-algorithm-association-arn "$ASSOCIATION" \
  --resource-config '{"instanceType": "ml.m5.large", "volumeSizeInGB": 1}' \
  --stopping-condition '{"maxRuntimeInSeconds": 600}' \
  --hyperparameters '{"epochs": "30", "learning_rate": "0.1"}' \
  --data-channels "[{\"channelName\": \"train\", \"mlInputChannelArn\": \"$TRAIN\"},
                    {\"channelName\": \"validation\", \"mlInputChannelArn\": \"$VALIDATION\"}]" > .work/demo-create.json
MODEL=$(field trainedModelArn < .work/demo-create.json)

echo "== get-trained-model"
crml get-trained-model --trained-model-arn "$MODEL" | tee .work/demo-model.json
STATUS=$(field status < .work/demo-model.json)

echo "== metrics"
crml metrics "$MODEL" | tail -n 7

echo "== artifacts"
crml artifacts "$MODEL" --to .work/demo-artifacts
echo "model.tar.gz holds:"; tar -tzf .work/demo-artifacts/model.tar.gz

echo
echo "Final status: $STATUS"
[ "$STATUS" = "ACTIVE" ]
