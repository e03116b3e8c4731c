// A Connector's account entries as the upstream transport library (@nmshd/transport) writes them, for
// tests/unit/test_connector_device.py.
//
// AccountController.createIdentityAndDevice (runtime packages/transport/src/modules/accounts/AccountController.ts)
// stores the device, the identity and the device's base key in the `AccountInfo` map and the device's Backbone
// credentials through DeviceSecretController.storeSecret in the `DeviceSecrets` map. This does the same calls with
// the library's own classes, into maps that keep what @js-soft/docdb-access-mongo's MongoDbMap.set keeps (one
// `{name, value}` document per entry, `value` as its toJSON()), and prints
//   {"entries": [what `find({}, {_id: 0})` of both collections gives], "expected": {address, deviceId, username,
//    password}}
// where `expected` is what the library's own DeviceSecretController.loadSecret reads back.

import coreTypes from "@nmshd/core-types";
import crypto from "@nmshd/crypto";
import transport from "@nmshd/transport";

const { CoreAddress, CoreDate, CoreId } = coreTypes;
const { SodiumWrapper } = crypto;
const {
    CoreCrypto,
    Device,
    DeviceSecretController,
    DeviceSecretCredentials,
    DeviceSecretType,
    DeviceType,
    Identity,
    IdentityUtil,
    PasswordGenerator,
    TransportLoggerFactory
} = transport;

const silent = new Proxy({}, { get: () => () => undefined });
TransportLoggerFactory.init({ getLogger: () => silent });

class DocumentMap {
    constructor(name) {
        this.name = name;
        this.documents = new Map();
    }

    async set(name, value) {
        if (typeof value.toJSON === "function") value = value.toJSON();
        this.documents.set(name, JSON.parse(JSON.stringify({ name, value }))); // as stored, without functions
    }

    async get(name) {
        return this.documents.get(name)?.value ?? null;
    }
}

await SodiumWrapper.ready();
const maps = { AccountInfo: new DocumentMap("AccountInfo"), DeviceSecrets: new DocumentMap("DeviceSecrets") };
const db = { getMap: async (name) => maps[name] };

const [password, identityKeypair, deviceKeypair, baseKey] = await Promise.all([
    PasswordGenerator.createStrongPassword(45, 50),
    CoreCrypto.generateSignatureKeypair(),
    CoreCrypto.generateSignatureKeypair(),
    CoreCrypto.generateSecretKey()
]);
const address = await IdentityUtil.createAddress(identityKeypair.publicKey, "pilot.enmeshed.eu");
const deviceId = CoreId.from("DVC" + Math.random().toString(36).slice(2, 12).padEnd(10, "0") + "0123456");
const username = "USR" + Math.random().toString(36).slice(2, 12).padEnd(10, "0") + "6543210";
const identity = Identity.from({ address: CoreAddress.from(address.toString()), publicKey: identityKeypair.publicKey });
const device = Device.from({
    createdAt: CoreDate.utc(),
    createdByDevice: deviceId,
    id: deviceId,
    lastLoginAt: CoreDate.utc(),
    operatingSystem: "",
    publicKey: deviceKeypair.publicKey,
    type: DeviceType.Connector,
    username,
    datawalletVersion: 1,
    isBackupDevice: false
});

// DeviceSecretController reads only config, db and activeDeviceOrUndefined of its parent.
const parent = { config: { debug: false }, db, activeDeviceOrUndefined: undefined, transport: {} };
const secrets = await new DeviceSecretController(parent, baseKey).init();
await Promise.all([
    maps.AccountInfo.set("device", device.toJSON()),
    maps.AccountInfo.set("identity", identity.toJSON()),
    maps.AccountInfo.set("baseKey", baseKey.toJSON()),
    secrets.storeSecret(DeviceSecretCredentials.from({ id: device.id, username, password }), DeviceSecretType.DeviceCredentials)
]);
const readBack = (await secrets.loadSecret(DeviceSecretType.DeviceCredentials)).secret;

const entries = [...maps.AccountInfo.documents.values(), ...maps.DeviceSecrets.documents.values()];
const expected = { address: identity.address.toString(), deviceId: device.id.toString(), username: readBack.username, password: readBack.password };
process.stdout.write(JSON.stringify({ entries, expected }) + "\n");
