import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { LOCAL_STACK_CREDENTIALS, type Config } from './config';

type AwsConfig = Config['aws'];

/**
 * Outside production, with an endpoint (the local stack) and no AWS_ACCESS_KEY_ID (config decides:
 * `localStackKeys`), use the local stack's static keys; otherwise leave credentials to the SDK's
 * default chain (env, profile, SSO, instance/task/pod role).
 */
function credentialsFor(aws: AwsConfig, endpoint: string | undefined) {
  return aws.localStackKeys && endpoint !== undefined ? LOCAL_STACK_CREDENTIALS : undefined;
}

export function createDynamoClient(aws: AwsConfig): DynamoDBClient {
  return new DynamoDBClient({
    region: aws.region,
    endpoint: aws.dynamoEndpoint,
    credentials: credentialsFor(aws, aws.dynamoEndpoint),
    // Activities have their own retry policy; keep SDK retries short so a dead server surfaces
    // as a failed attempt in Temporal instead of a hidden minute of backoff.
    maxAttempts: 2,
  });
}

export function createS3Client(aws: AwsConfig): S3Client {
  return new S3Client({
    region: aws.region,
    endpoint: aws.s3Endpoint,
    forcePathStyle: aws.s3ForcePathStyle,
    credentials: credentialsFor(aws, aws.s3Endpoint),
    maxAttempts: 2,
  });
}
