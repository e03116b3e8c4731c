// What upstream's Serializable.fromUnknown (@js-soft/ts-serval) makes of a token content, as CreateOwnToken runs it.
//
// stdin: a JSON array of JSON texts (each parsed with JSON.parse, as Express parses a request body). stdout: a JSON
// array with one answer each: {"serialized": <the text that is encrypted, content.serialize()>,
// "json": <JSON.stringify(content.toJSON()), the DTO's content>} or {"refused": "<error class>: <message>"}.
// Only ts-serval is loaded: like a Connector, it knows JSONWrapper; unlike one, none of the content classes.

import tsServal from "@js-soft/ts-serval";

const { Serializable } = tsServal;

let input = "";
for await (const chunk of process.stdin) input += chunk;
const answers = JSON.parse(input).map((text) => {
    try {
        const content = Serializable.fromUnknown(JSON.parse(text));
        return { serialized: content.serialize(), json: JSON.stringify(content.toJSON()) };
    } catch (e) {
        return { refused: `${e.constructor.name}: ${e.message}` };
    }
});
process.stdout.write(JSON.stringify(answers));
