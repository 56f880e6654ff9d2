#!/usr/bin/env bash
# npm run demo: bring up what is needed, then train the linear-regression example end to end with the crml CLI,
# and predict with the trained model (an inference job over a CSV channel).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
[ -f dist/bin/crml.cjs ] || npm run --silent build

export CRML_DATA_DIR="${CRML_DATA_DIR:-$PWD/.work/demo}"
mkdir -p .work
crml() { node dist/bin/crml.cjs "$@"; }
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
    ]}' \
  --inference-container-config '{"imageUri": "crml-examples/linear-regression:latest"}' | field configuredModelAlgorithmArn)
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

[ "$STATUS" = "ACTIVE" ] || { echo "Final status: $STATUS"; exit 1; }

echo "== the same in one command: crml train builds the example's folder, creates what it needs and trains"
crml train --build examples/algorithms/linear-regression --name demo-one-command \
  --channel train="$DATA/train" --channel validation="$DATA/validation" \
  --hyperparameters epochs=30,learning_rate=0.1 \
  --metric 'validation:loss=validation_loss=([0-9.eE+-]+)'
echo "== report: charts of the run, one self-contained page"
crml report demo-one-command --html .work/demo-report.html
echo "open .work/demo-report.html in a browser (it needs no network)"

echo "== inference: predict the validation rows (features, then the target, which the server ignores)"
PREDICT=$(crml create-ml-input-channel --name predict --retention-in-days 1 \
  --configured-model-algorithm-associations "[\"$ASSOCIATION\"]" --local-path "$DATA/validation" | field mlInputChannelArn)
crml start-trained-model-inference-job --name demo-predict --trained-model-arn "$MODEL" \
  --resource-config '{"instanceType": "ml.m5.large"}' \
  --output-configuration '{"accept": "text/csv", "members": [{"accountId": "123456789012"}]}' \
  --data-source "{\"mlInputChannelArn\": \"$PREDICT\"}" > .work/demo-inference.json
JOB=$(field trainedModelInferenceJobArn < .work/demo-inference.json)
crml get-trained-model-inference-job --trained-model-inference-job-arn "$JOB" | tee .work/demo-job.json
JOB_STATUS=$(field status < .work/demo-job.json)
rm -rf .work/demo-predictions
crml artifacts "$JOB" --to .work/demo-predictions
mkdir -p .work/demo-predictions/out && tar -xzf .work/demo-predictions/output.tar.gz -C .work/demo-predictions/out
echo "first predictions next to the true targets:"
paste -d' ' <(head -n 5 .work/demo-predictions/out/validation.csv.out) <(head -n 5 "$DATA/validation/validation.csv" | cut -d, -f4)

echo
echo "Final status: trained model $STATUS, inference job $JOB_STATUS"
[ "$JOB_STATUS" = "ACTIVE" ]
