"""The wire protocol as boto3 (a client nobody here wrote) reads it, against the endpoint over a fake service.

botocore serializes every request and parses every response from the service model, so a wire mistake on
either side shows up here. Usage: python3 protocol_probe.py <endpoint_url>; prints one JSON object of what
botocore saw. The fake service (test/api/http/fake-service.ts) fixes the values it answers.
"""
import datetime
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
membership = "00000000-0000-4000-8000-000000000001"
model_arn = f"arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/{membership}/trained-model/0123456789abcdef"
association_arn = f"arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/{membership}/configured-model-algorithm-association/0123456789ab"
role = "arn:aws:iam::123456789012:role/r"
# No retries: a 500 or a throttle would otherwise be sent up to five times.
client = boto3.client(
    "cleanroomsml", endpoint_url=endpoint, region_name="us-east-1", config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
)
seen = {}


def error(call):
    try:
        call()
    except ClientError as e:
        extra = {k: v for k, v in e.response.items() if k not in ("Error", "ResponseMetadata", "message")}
        return {
            "code": e.response["Error"]["Code"],
            "message": e.response["Error"]["Message"],
            "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
            **extra,
        }
    return None


got = client.get_trained_model(membershipIdentifier=membership, trainedModelArn=model_arn)
seen["getStatus"] = got["ResponseMetadata"]["HTTPStatusCode"]
seen["requestIdLength"] = len(got["ResponseMetadata"].get("RequestId", ""))
seen["createTime"] = got["createTime"].isoformat()
seen["createTimeIsAware"] = got["createTime"].tzinfo is not None
seen["keys"] = sorted(k for k in got if k != "ResponseMetadata")
seen["statusDetails"] = got.get("statusDetails")

page = client.list_trained_models(membershipIdentifier=membership, maxResults=5)
seen["listNextToken"] = page.get("nextToken")
seen["listFirstUpdateTime"] = page["trainedModels"][0]["updateTime"].isoformat()
seen["pages"] = len(list(client.get_paginator("list_trained_models").paginate(membershipIdentifier=membership)))

created = client.create_trained_model(
    membershipIdentifier=membership,
    name="m",
    configuredModelAlgorithmAssociationArn=association_arn,
    resourceConfig={"instanceType": "ml.m5.large", "volumeSizeInGB": 1},
    dataChannels=[{"mlInputChannelArn": f"arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/{membership}/ml-input-channel/0123456789ab", "channelName": "train"}],
    hyperparameters={"lr": "0.1"},
)
seen["createdArn"] = created["trainedModelArn"]

client.untag_resource(resourceArn=model_arn, tagKeys=["team", "a b/c"])
client.tag_resource(resourceArn=model_arn, tags={"é": "ü"})
seen["deleteOutputStatus"] = client.delete_trained_model_output(membershipIdentifier=membership, trainedModelArn=model_arn)[
    "ResponseMetadata"
]["HTTPStatusCode"]

seen["conflict"] = error(lambda: client.cancel_trained_model(membershipIdentifier=membership, trainedModelArn=model_arn))
seen["notFound"] = error(lambda: client.get_trained_model(membershipIdentifier=membership, trainedModelArn=model_arn + "/missing"))
seen["accessDenied"] = error(lambda: client.list_tags_for_resource(resourceArn=model_arn + "-forbidden"))
for name in ["ValidationException", "ThrottlingException", "InternalServiceException", "ServiceQuotaExceededException", "bug"]:
    seen[name] = error(lambda: client.create_configured_model_algorithm(name=f"throw-{name}", roleArn=role))
seen["audience"] = error(lambda: client.list_audience_models())
seen["lacking"] = error(lambda: client.list_ml_input_channels(membershipIdentifier=membership))

print(json.dumps(seen, default=lambda o: o.isoformat() if isinstance(o, datetime.datetime) else str(o)))
