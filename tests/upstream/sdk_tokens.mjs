// The Connector 6 SDK (@nmshd/connector-sdk 6.7.0, /api/v2) driving the token endpoint of a running service.
//
// argv: <baseUrl> <apiKey>. stdin: a JSON list of calls, each {"call": "createOwnToken"|"getToken"|
// "getQrCodeForToken"|"getOwnTokens"|"getPeerTokens", "arg": …}; an arg "$id" is the id of the last token created.
// stdout: a JSON list of answers, {"result": …} or {"error": {code, message}} as the SDK returns them; a QR code's
// result is {"base64": the PNG's bytes}.

import sdk from "@nmshd/connector-sdk";

const { ConnectorClient } = sdk;
const [baseUrl, apiKey] = process.argv.slice(2);
const client = ConnectorClient.create({ baseUrl, apiKey });

let input = "";
for await (const chunk of process.stdin) input += chunk;
let lastId;
const answers = [];
for (const { call, arg } of JSON.parse(input)) {
    const response = await client.tokens[call](arg === "$id" ? lastId : arg);
    if (response.isError) {
        answers.push({ error: { code: response.error.code, message: response.error.message } });
        continue;
    }
    let result = response.result;
    if (call === "createOwnToken") lastId = result.id;
    if (call === "getQrCodeForToken") result = { base64: Buffer.from(result).toString("base64") };
    answers.push({ result });
}
process.stdout.write(JSON.stringify(answers));
