// Test-only WeChat gateway: a wechaty puppet-service server backed by the mock puppet.
//
//   node gateway.mjs --port 18788 --token test-token [--fixture fixture.json] [--no-login]
//
// Serves gRPC on 127.0.0.1:<port> with TLS disabled, logs the bot account in (with
// --no-login: asks for a QR scan instead, until POST /login), and
// exposes a control channel over HTTP on 127.0.0.1 (a free port). Once both listen,
// prints one JSON line to stdout: {"ready": true, "grpc": <port>, "control": <port>}.
//
// Control endpoints (JSON bodies and answers):
//   POST /say     {from, text, mentions?: [ids], room?}   a resident says text in the room -> {id}
//   POST /raw     {from, type, text, room?}               any message type (e.g. 49 app XML) -> {id}
//   POST /recall  {from, id, room?}                       the resident withdraws message id -> {id}
//   GET  /said                                            what the bot sent: [{room, text, mentions}]
//   POST /reset                                           forget what the bot sent (a new test begins)
//   GET  /files                                           files the bot sent: [{to, name, base64}]
//   POST /login                                           the bot account logs in
//   POST /logout                                          the bot account logs out
//   GET  /health                                          {ok, loggedIn}
import http from 'node:http'
import fs from 'node:fs'
import { parseArgs } from 'node:util'

import { PuppetServer } from 'wechaty-puppet-service'
import { PuppetMock, mock } from 'wechaty-puppet-mock'
import * as PUPPET from 'wechaty-puppet'

const DEFAULT_FIXTURE = {
  bot: { id: 'wxid_tuanbot', name: '团购小助手' },
  residents: [
    { id: 'wxid_alice', name: '3栋王姐' },
    { id: 'wxid_bob', name: '5栋李哥' },
    { id: 'wxid_carol', name: '7栋小陈' },
  ],
  rooms: [
    { id: '20000001@chatroom', topic: '幸福里团购群' },
    { id: '20000002@chatroom', topic: '隔壁闲聊群' },
  ],
}

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    token: { type: 'string' },
    fixture: { type: 'string' },
    'no-login': { type: 'boolean', default: false },
  },
})
if (!args.port || !args.token) {
  console.error('usage: node gateway.mjs --port N --token T [--fixture file.json]')
  process.exit(2)
}
const fixture = args.fixture ? JSON.parse(fs.readFileSync(args.fixture, 'utf8')) : DEFAULT_FIXTURE

const mocker = new mock.Mocker()
const contact = (c) => mocker.createContact({ id: c.id, name: c.name, alias: '', friend: true })
const bot = contact(fixture.bot)
const residents = new Map(fixture.residents.map((r) => [r.id, contact(r)]))
const memberIdList = [bot.id, ...residents.keys()]
const rooms = new Map(
  fixture.rooms.map((r) => [r.id, mocker.createRoom({ id: r.id, topic: r.topic, memberIdList, ownerId: bot.id, adminIdList: [] })]),
)
const firstRoomId = fixture.rooms[0].id

// Log the bot in whenever the puppet (re)starts (python-wechaty's own client calls stop() then start()).
let loginWanted = !args['no-login']
mocker.use(function loginBot (m) {
  if (loginWanted) {
    const timer = setTimeout(() => m.login(bot), 10)
    return () => clearTimeout(timer)
  }
  // A real puppet shows a fresh QR code now and then until someone scans it.
  const timer = setInterval(() => (loginWanted ? clearInterval(timer) : m.scan('tuan-test-qr')), 300)
  return () => clearInterval(timer)
})

const puppet = new PuppetMock({ mocker })
const said = []
const sendText = puppet.messageSendText.bind(puppet)
puppet.messageSendText = async (conversationId, text, mentionIdList = []) => {
  said.push({ room: conversationId, text, mentions: mentionIdList })
  return sendText(conversationId, text)
}

// Files go through the mock puppet's own messageSendFile (a FileBox, as a real puppet takes it).
const files = []
const sendFile = puppet.messageSendFile.bind(puppet)
puppet.messageSendFile = async (conversationId, file) => {
  files.push({ to: conversationId, name: file.name, base64: await file.toBase64() })
  return sendFile(conversationId, file)
}

let seq = 0
function emitMessage ({ from, room, type, text }) {
  const talker = residents.get(from)
  if (!talker) throw new Error(`unknown resident ${from}`)
  const roomId = room ?? firstRoomId
  if (!rooms.has(roomId)) throw new Error(`unknown room ${roomId}`)
  seq += 1
  const payload = {
    id: `m${Date.now()}${seq}`,
    talkerId: talker.id,
    roomId,
    timestamp: Date.now(),
    type,
    text,
    mentionIdList: [],
  }
  const msg = mocker.MessageMock.create(payload)
  puppet.emit('message', { messageId: msg.id })
  return msg.id
}

const routes = {
  'POST /say': (b) => {
    const id = emitMessage({ from: b.from, room: b.room, type: PUPPET.types.Message.Text, text: b.text })
    if (b.mentions?.length) mocker.messagePayload(id).mentionIdList = b.mentions
    return { id }
  },
  'POST /raw': (b) => ({ id: emitMessage({ from: b.from, room: b.room, type: b.type, text: b.text }) }),
  'POST /recall': (b) => ({
    id: emitMessage({ from: b.from, room: b.room, type: PUPPET.types.Message.Recalled, text: b.id }),
  }),
  'GET /said': () => said,
  'POST /reset': () => {
    said.length = 0
    files.length = 0
    return { ok: true }
  },
  'GET /files': () => files,
  'POST /login': () => {
    loginWanted = true
    mocker.login(bot)
    return { ok: true }
  },
  'POST /logout': async () => {
    await puppet.logout()
    return { ok: true }
  },
  'GET /health': () => ({ ok: true, loggedIn: puppet.isLoggedIn }),
}

const control = http.createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => { body += chunk })
  req.on('end', async () => {
    const route = routes[`${req.method} ${req.url}`]
    try {
      if (!route) throw new Error(`no route ${req.method} ${req.url}`)
      const answer = await route(body ? JSON.parse(body) : {})
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(answer))
    } catch (e) {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: String(e?.message ?? e) }))
    }
  })
})

const server = new PuppetServer({
  endpoint: `127.0.0.1:${args.port}`,
  token: args.token,
  puppet,
  tls: { disable: true },
})

async function main () {
  await puppet.start()
  await server.start()
  await new Promise((resolve) => control.listen(0, '127.0.0.1', resolve))
  process.stdout.write(JSON.stringify({ ready: true, grpc: Number(args.port), control: control.address().port }) + '\n')
}

async function shutdown () {
  control.close()
  await server.stop().catch(() => {})
  await puppet.stop().catch(() => {})
  process.exit(0)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
