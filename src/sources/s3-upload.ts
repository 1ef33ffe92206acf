/**
 * Uploads one object from a stream of buffers: a single PUT (with Content-MD5) up to the
 * part size, else a multipart upload in parts of that size, aborted on any failure so no
 * incomplete upload is left behind. Bodies are always sent as bytes of known length.
 * The AWS SDK is imported on the first upload (s3-client.ts), not with this module.
 */
import { createHash } from 'node:crypto';
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { loadS3Sdk } from '../backends/s3-client.js';

/** The object's headers: content type, user metadata, cache control, … */
export type ObjectHeaders = Pick<
  PutObjectCommandInput,
  'ContentType' | 'Metadata' | 'CacheControl' | 'ContentEncoding' | 'ContentDisposition' | 'ContentLanguage'
>;

export const PART_SIZE = 16 * 1024 * 1024;

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('base64');

export async function uploadObject(
  client: S3Client,
  bucket: string,
  key: string,
  body: AsyncIterable<Buffer>,
  headers: ObjectHeaders,
  partSize = PART_SIZE,
): Promise<number> {
  const {
    AbortMultipartUploadCommand,
    CompleteMultipartUploadCommand,
    CreateMultipartUploadCommand,
    PutObjectCommand,
    UploadPartCommand,
  } = await loadS3Sdk();
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let uploadId: string | undefined;
  const parts: { ETag?: string; PartNumber: number }[] = [];
  let total = 0;

  const sendPart = async (data: Buffer) => {
    if (uploadId === undefined) {
      const created = await client.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...headers }),
      );
      uploadId = created.UploadId;
    }
    const PartNumber = parts.length + 1;
    const res = await client.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber,
        Body: data,
        ContentLength: data.length,
        ContentMD5: md5(data),
      }),
    );
    parts.push({ ETag: res.ETag, PartNumber });
  };

  try {
    for await (const chunk of body) {
      pending.push(chunk);
      pendingLength += chunk.length;
      total += chunk.length;
      while (pendingLength > partSize) {
        const all = Buffer.concat(pending);
        await sendPart(all.subarray(0, partSize));
        pending = [all.subarray(partSize)];
        pendingLength = pending[0].length;
      }
    }
    const rest = Buffer.concat(pending);
    if (uploadId === undefined) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: rest,
          ContentLength: rest.length,
          ContentMD5: md5(rest),
          ...headers,
        }),
      );
      return total;
    }
    if (rest.length > 0) await sendPart(rest);
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    return total;
  } catch (err) {
    if (uploadId !== undefined)
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
    throw err;
  }
}
