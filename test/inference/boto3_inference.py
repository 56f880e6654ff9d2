"""Train, predict and export through boto3 against crml serve: every response parsed by botocore from the model.

Usage: python3 boto3_inference.py <endpoint_url> <image>; the workspace names the tables `train` and `input`.
Prints one JSON object with what it saw.
"""
import json
import sys
import time

import boto3
from botocore.exceptions import ClientError

endpoint, image = sys.argv[1], sys.argv[2]
membership = "00000000-0000-4000-8000-000000000001"
collaboration = "00000000-0000-4000-8000-0000000000c1"
role = "arn:aws:iam::123456789012:role/r"
client = boto3.client("cleanroomsml", endpoint_url=endpoint, region_name="us-east-1")
seen = {}


def wait(get, key="status", done=("ACTIVE", "CREATE_FAILED", "INACTIVE"), timeout=180):
    end = time.time() + timeout
    while True:
        r = get()
        if r[key] in done or time.time() > end:
            return r
        time.sleep(0.2)


def error_of(call):
    try:
        call()
    except ClientError as e:
        return [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"]]
    return None


algorithm = client.create_configured_model_algorithm(
    name="linear-regression",
    roleArn=role,
    trainingContainerConfig={"imageUri": image, "metricDefinitions": []},
    inferenceContainerConfig={"imageUri": image},
)["configuredModelAlgorithmArn"]
association = client.create_configured_model_algorithm_association(
    membershipIdentifier=membership,
    configuredModelAlgorithmArn=algorithm,
    name="lr",
    privacyConfiguration={
        "policies": {
            "trainedModelInferenceJobs": {"maxOutputSize": {"unit": "GB", "value": 0.5}},
            "trainedModelExports": {"maxSize": {"unit": "GB", "value": 1}, "filesToExport": ["MODEL"]},
        }
    },
)["configuredModelAlgorithmAssociationArn"]


def channel(name, query):
    arn = client.create_ml_input_channel(
        membershipIdentifier=membership,
        configuredModelAlgorithmAssociations=[association],
        inputChannel={
            "dataSource": {"protectedQueryInputParameters": {"sqlParameters": {"queryString": query}, "resultFormat": "CSV"}},
            "roleArn": role,
        },
        name=name,
        retentionInDays=1,
    )["mlInputChannelArn"]
    got = wait(lambda: client.get_ml_input_channel(membershipIdentifier=membership, mlInputChannelArn=arn))
    assert got["status"] == "ACTIVE", got
    return arn


train = channel("train", "SELECT * FROM train")
inputs = channel("input", "SELECT * FROM input")
model = client.create_trained_model(
    membershipIdentifier=membership,
    name="lr",
    configuredModelAlgorithmAssociationArn=association,
    resourceConfig={"instanceType": "ml.m5.large", "volumeSizeInGB": 1},
    hyperparameters={"epochs": "40", "learning_rate": "0.1"},
    dataChannels=[{"channelName": "train", "mlInputChannelArn": train}],
)["trainedModelArn"]
seen["modelStatus"] = wait(lambda: client.get_trained_model(membershipIdentifier=membership, trainedModelArn=model))["status"]

job = client.start_trained_model_inference_job(
    membershipIdentifier=membership,
    name="predict",
    trainedModelArn=model,
    resourceConfig={"instanceType": "ml.m5.xlarge", "instanceCount": 2},
    outputConfiguration={"accept": "text/csv", "members": [{"accountId": "111122223333"}]},
    dataSource={"mlInputChannelArn": inputs},
    containerExecutionParameters={"maxPayloadInMB": 1},
    environment={"MODE": "batch"},
    tags={"team": "ml"},
)["trainedModelInferenceJobArn"]
seen["jobArn"] = job
got = wait(lambda: client.get_trained_model_inference_job(membershipIdentifier=membership, trainedModelInferenceJobArn=job))
seen["job"] = {k: got.get(k) for k in ("status", "statusDetails", "name", "trainedModelArn", "resourceConfig", "containerExecutionParameters",
                                          "outputConfiguration", "environment", "tags", "logsStatus", "metricsStatus")}
seen["jobDigest"] = got.get("inferenceContainerImageDigest")
seen["jobCreateTimeType"] = type(got["createTime"]).__name__
listed = client.list_trained_model_inference_jobs(membershipIdentifier=membership, trainedModelArn=model)["trainedModelInferenceJobs"]
seen["listed"] = [[j["trainedModelInferenceJobArn"] == job, j["status"]] for j in listed]
seen["listedOther"] = len(client.list_trained_model_inference_jobs(
    membershipIdentifier=membership, trainedModelArn=model.replace(model.split("/")[-1], "0" * 32))["trainedModelInferenceJobs"])
collab = client.list_collaboration_trained_model_inference_jobs(collaborationIdentifier=collaboration)["collaborationTrainedModelInferenceJobs"]
seen["collaboration"] = [[j["name"], j["creatorAccountId"], "environment" in j] for j in collab]
seen["cancelFinished"] = error_of(lambda: client.cancel_trained_model_inference_job(membershipIdentifier=membership, trainedModelInferenceJobArn=job))
seen["payloadTooLarge"] = error_of(lambda: client.start_trained_model_inference_job(
    membershipIdentifier=membership, name="x", trainedModelArn=model, resourceConfig={"instanceType": "ml.m5.large", "instanceCount": 11},
    outputConfiguration={"members": [{"accountId": "111122223333"}]}, dataSource={"mlInputChannelArn": inputs}))

client.start_trained_model_export_job(
    membershipIdentifier=membership, trainedModelArn=model, name="to-partner", outputConfiguration={"members": [{"accountId": "111122223333"}]}
)
exports = wait(lambda: {"status": client.list_collaboration_trained_model_export_jobs(
    collaborationIdentifier=collaboration, trainedModelArn=model)["collaborationTrainedModelExportJobs"][0]["status"]})
seen["exportStatus"] = exports["status"]
seen["exportAgain"] = error_of(lambda: client.start_trained_model_export_job(
    membershipIdentifier=membership, trainedModelArn=model, name="to-partner", outputConfiguration={"members": [{"accountId": "111122223333"}]}))
print(json.dumps(seen, default=str))
