// The upstream enmeshed transport library (@nmshd/transport) as a Backbone client, driven by the Python tests.
//
// One JSON command per line on stdin, one JSON answer per line on stdout, in order. The first command is
//   {"op": "configure", "baseUrl": "http://127.0.0.1:<port>", "clientId": "…", "clientSecret": "…"}
// and every later one names an operation below. A device is {"username", "password", "address", "deviceId"}.
//
//   version                               BackboneCompatibilityController.checkBackboneCompatibility()
//   login        {device}                 the device's authenticator logs in (AuthClient, password grant)
//   sendToken    {device, content, expiresAt, ephemeral, forIdentity?, passwordProtection?}
//                                         TokenController.sendToken: what a Connector does to create a token
//   loadAnonymous {reference, password?}  AnonymousTokenController.loadPeerTokenByReference (a peer without account)
//   loadPeer     {device, reference, password?}
//                                         TokenController.loadPeerTokenByReference, signed in as the device
//   getToken     {device?, id, password?}  TokenClient.getToken (signed in) or AnonymousTokenClient.getToken
//                                         (without device); `password` is the hash, base64 as sent
//   deleteToken  {device, id}             TokenClient.deleteToken, the call TokenController.delete makes
//   deleteOwn    {device, id}             TokenController.delete of a token this device sent with ephemeral false
//
// An answer is {"result": …} or {"error": {"code", "message", "status"?}}. Nothing is logged: the
// library's trace logs carry request bodies (password hashes), so its logger factory is a silent one.
//
// Why not a full AccountController: it needs a document database, an identity onboarded on the Backbone
// (signed challenges, device registration) and a datawallet sync, none of which the token routes use. The
// TokenController reads only these members of its parent: config, transport, authenticator, identity.address,
// activeDevice.id and one collection; they are given here, and the authenticator is the library's own
// AbstractAuthenticator (AuthClient, its caching and its 401 handling) fed with the device's credentials.

import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";

import coreTypes from "@nmshd/core-types";
import transport from "@nmshd/transport";
import tsServal from "@js-soft/ts-serval";

const { CoreAddress, CoreDate, CoreId, Reference } = coreTypes;
const {
    AbstractAuthenticator,
    AnonymousTokenController,
    BackboneCompatibilityController,
    Token,
    TokenController,
    Transport
} = transport;
const { Serializable } = tsServal;

// What Connector 7.4.6 sends: its runtime (7.5.11) adds X-RUNTIME-VERSION to every Backbone call.
const RUNTIME_VERSION = "7.5.11";

const silentLogger = new Proxy({}, { get: () => () => undefined });
const silentLoggerFactory = { getLogger: () => silentLogger };

// The Connector's correlator gives every inbound HTTP request one id; here every command gets one.
class CommandCorrelator {
    constructor() {
        this.id = randomUUID();
    }
    getId() {
        return this.id;
    }
    next() {
        this.id = randomUUID();
    }
}

class DeviceCredentialsAuthenticator extends AbstractAuthenticator {
    constructor(config, correlator, device) {
        super(config, correlator);
        this.device = device;
    }
    getCredentials() {
        return Promise.resolve({ username: this.device.username, password: this.device.password });
    }
}

// The local Tokens collection of an account, in memory.
class MemoryCollection {
    constructor() {
        this.documents = new Map();
    }
    read(id) {
        return Promise.resolve(this.documents.get(id));
    }
    create(value) {
        const document = value.toJSON();
        this.documents.set(document.id, document);
        return Promise.resolve(document);
    }
    delete(value) {
        this.documents.delete(value.id.toString());
        return Promise.resolve(true);
    }
    find() {
        return Promise.resolve([...this.documents.values()]);
    }
}

let transportInstance;
let correlator;
const accounts = new Map(); // username -> {authenticator, tokens: TokenController}

async function account(device) {
    let known = accounts.get(device.username);
    if (!known || known.device.password !== device.password) {
        const authenticator = new DeviceCredentialsAuthenticator(transportInstance.config, correlator, device);
        const parent = {
            config: transportInstance.config,
            transport: transportInstance,
            authenticator,
            identity: { address: CoreAddress.from(device.address) },
            activeDevice: { id: CoreId.from(device.deviceId) },
            getSynchronizedCollection: () => Promise.resolve(new MemoryCollection())
        };
        known = { device, authenticator, tokens: await new TokenController(parent).init() };
        accounts.set(device.username, known);
    }
    return known;
}

function describeToken(token) {
    return {
        id: token.id.toString(),
        isOwn: token.isOwn,
        createdBy: token.createdBy.toString(),
        createdByDevice: token.createdByDevice.toString(),
        createdAt: token.createdAt.toString(),
        expiresAt: token.expiresAt.toString(),
        forIdentity: token.forIdentity?.toString() ?? null,
        content: token.content.toJSON()
    };
}

// A RequestError's or CoreError's code, its reason (the Backbone's message) and, for HTTP answers, the status.
function errorOf(e) {
    const error = { code: e?.code ?? e?.constructor?.name ?? "Error", message: e?.reason ?? e?.message ?? String(e) };
    if (typeof e?.status === "number") error.status = e.status;
    return error;
}

function clientAnswer(result) {
    return result.isError ? { error: errorOf(result.error) } : { result: result.value };
}

const operations = {
    configure(input) {
        transportInstance = new Transport(
            {
                baseUrl: input.baseUrl,
                platformClientId: input.clientId,
                platformClientSecret: input.clientSecret,
                platformAdditionalHeaders: { "X-RUNTIME-VERSION": RUNTIME_VERSION },
                supportedIdentityVersion: 1
            },
            undefined,
            silentLoggerFactory,
            correlator
        );
        accounts.clear();
        return transportInstance.init().then(() => ({ result: { configured: true } }));
    },

    async version() {
        const result = await new BackboneCompatibilityController(transportInstance.config, correlator).checkBackboneCompatibility();
        return result.isError ? { error: errorOf(result.error) } : { result: result.value };
    },

    async login(input) {
        const { authenticator } = await account(input.device);
        authenticator.clear();
        await authenticator.getToken(); // throws the AuthClient's error for a refused login
        return { result: { expiry: authenticator.expiry.toISOString() } };
    },

    async sendToken(input) {
        const { tokens } = await account(input.device);
        const token = await tokens.sendToken({
            content: Serializable.fromUnknown(input.content),
            expiresAt: CoreDate.from(input.expiresAt),
            ephemeral: input.ephemeral,
            forIdentity: input.forIdentity ? CoreAddress.from(input.forIdentity) : undefined,
            passwordProtection: input.passwordProtection
        });
        const reference = token.toTokenReference(transportInstance.config.baseUrl);
        return { result: { ...describeToken(token), reference: { truncated: reference.truncate(), url: reference.toUrl() } } };
    },

    async loadAnonymous(input) {
        const controller = new AnonymousTokenController(transportInstance.config, correlator);
        const token = await controller.loadPeerTokenByReference(Reference.from(input.reference), input.password);
        return { result: describeToken(token) };
    },

    async loadPeer(input) {
        const { tokens } = await account(input.device);
        const token = await tokens.loadPeerTokenByReference(Reference.from(input.reference), true, input.password);
        return { result: describeToken(token) };
    },

    async getToken(input) {
        const client = input.device
            ? (await account(input.device)).tokens.client
            : new AnonymousTokenController(transportInstance.config, correlator).client; // its class is not exported
        return clientAnswer(await client.getToken(input.id, input.password));
    },

    async deleteToken(input) {
        const { tokens } = await account(input.device);
        return clientAnswer(await tokens.client.deleteToken(input.id));
    },

    async deleteOwn(input) {
        const { tokens } = await account(input.device);
        const document = await tokens.tokens.read(input.id);
        if (!document) return { error: { code: "harness.notSentByThisDevice", message: input.id } };
        await tokens.delete(Token.from(document));
        return { result: { deleted: true, keptLocally: (await tokens.tokens.read(input.id)) !== undefined } };
    }
};

async function run(input) {
    const operation = operations[input.op];
    if (!operation) return { error: { code: "harness.unknownOperation", message: String(input.op) } };
    if (input.op !== "configure" && !transportInstance) return { error: { code: "harness.notConfigured", message: "" } };
    correlator.next();
    try {
        return await operation(input);
    } catch (e) {
        return { error: errorOf(e) };
    }
}

correlator = new CommandCorrelator();
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
    if (!line.trim()) continue;
    let answer;
    try {
        answer = await run(JSON.parse(line));
    } catch (e) {
        answer = { error: errorOf(e) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
}
