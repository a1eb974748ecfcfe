// The Responses request translation (docs/contract.md §20): the captured Codex CLI, openai SDK and AI SDK
// requests as the chat bodies they become, then the conversation rules (system reminders, assistant runs, tool
// calls and outputs, images), tool names and tool_choice, the parameters, the refusals and the response echo.
import { describe, expect, it } from "vitest";
import codexFirst from "../../../fixtures/codex/0.171.0-first-request.json" with { type: "json" };
import codexToolResult from "../../../fixtures/codex/0.171.0-tool-result.json" with { type: "json" };
import aiSdkRequests from "../../../fixtures/responses/ai-sdk-openai-4.0.126-requests.json" with {
  type: "json",
};
import openaiRequests from "../../../fixtures/responses/openai-7.57.0-requests.json" with { type: "json" };
import { translateRequest } from "./request.ts";

type Json = Record<string, unknown>;
type Captured = { body: Json };
type Translated = Extract<ReturnType<typeof translateRequest>, { ok: true }>;
type Refused = Extract<ReturnType<typeof translateRequest>, { ok: false }>;

const MODEL = "chutesai/AutoPilot";
const PNG = "data:image/png;base64,iVBORw0KGgo=";
const VALID_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const bodyOf = (captured: unknown): Json => structuredClone((captured as Captured).body);
const CODEX_FIRST = bodyOf(codexFirst);
const CODEX_TOOL_RESULT = bodyOf(codexToolResult);
const OPENAI = (openaiRequests as Captured[]).map(bodyOf);
const AI_SDK = (aiSdkRequests as Captured[]).map(bodyOf);
const [OPENAI_PLAIN, OPENAI_TOOL, OPENAI_SCHEMA] = OPENAI as [Json, Json, Json];
const [AI_SDK_SYSTEM] = AI_SDK as [Json];

function body(extra: Json = {}): Json {
  return { model: MODEL, input: "hi", ...extra };
}

function translated(input: unknown): Translated {
  const result = translateRequest(input);
  if (!result.ok) throw new Error(`expected a translation, got ${result.message}`);
  return result;
}

const chatOf = (input: unknown): Json => translated(input).chat;
const messagesOf = (input: unknown[], extra: Json = {}): Json[] =>
  chatOf(body({ input, ...extra })).messages as Json[];
const toolNamesOf = (chat: Json): string[] =>
  ((chat.tools ?? []) as Json[]).map((tool) => (tool.function as Json).name as string);

function refusalOf(input: unknown): Refused {
  const result = translateRequest(input);
  if (result.ok) throw new Error("expected a refusal");
  return result;
}

const user = (content: unknown): Json => ({ role: "user", content });
const developer = (text: string): Json => ({ role: "developer", content: text });
const assistant = (text: string): Json => ({ role: "assistant", content: [{ type: "output_text", text }] });
const call = (call_id: string, name: string, args?: string, namespace?: string): Json => ({
  type: "function_call",
  call_id,
  name,
  ...(args === undefined ? {} : { arguments: args }),
  ...(namespace === undefined ? {} : { namespace }),
});
const output = (id: string, out: unknown) => ({ type: "function_call_output", call_id: id, output: out });
const text = (value: string) => ({ type: "input_text", text: value });
const onlyPart = (part: Json) => ({ input: [user([part])] });
const chatCall = (id: string, name: string, args: string) => ({
  id,
  type: "function",
  function: { name, arguments: args },
});
const toolMessage = (id: string, name: string, content: unknown) => ({
  role: "tool",
  tool_call_id: id,
  name,
  content,
});
const chatFn = (tool: Json) => ({
  type: "function",
  function: { name: tool.name, description: tool.description, parameters: tool.parameters },
});
const reminder = (text: string): string => `<system-reminder>\n${text}\n</system-reminder>`;
const fn = (name: string): Json => ({ type: "function", name, parameters: { type: "object" } });
const client = (name: string, namespace: string | null = null, custom = false) => ({
  name,
  namespace,
  custom,
});

describe("translateRequest on captured requests", () => {
  it.each([
    ["Codex first request", CODEX_FIRST],
    ["Codex tool result", CODEX_TOOL_RESULT],
    ...OPENAI.map((request, index): [string, Json] => [`openai SDK request ${index}`, request]),
    ...AI_SDK.map((request, index): [string, Json] => [`AI SDK request ${index}`, request]),
  ])("translates the %s", (_, request) => {
    const result = translated(request);
    expect(result).toMatchObject({ model: MODEL, stream: request.stream === true });
    expect((result.chat.messages as Json[]).at(-1)?.role).toMatch(/^(user|tool)$/);
  });

  it("sends Codex's first turn as one system message, its user turns, and its runnable tools", () => {
    const input = CODEX_FIRST.input as Array<{ role: string; content: Array<{ text: string }> }>;
    const [first, second, ...users] = input;
    const result = translated(CODEX_FIRST);
    const { chat } = result;
    expect(chat.messages).toEqual([
      {
        role: "system",
        content: [...(first?.content ?? []), ...(second?.content ?? [])].map((p) => p.text).join("\n\n"),
      },
      ...users.map((message) => ({ role: "user", content: message.content.map((p) => p.text).join("\n\n") })),
    ]);
    const tools = CODEX_FIRST.tools as Json[];
    const expected = tools.flatMap((tool) => {
      if (tool.type === "function") return [tool.name];
      if (tool.type !== "namespace") return [];
      return (tool.tools as Json[]).map((child) => `${tool.name}__${child.name}`);
    });
    expect(expected).toHaveLength(12);
    expect(expected).toContain("multi_agent_v1__spawn_agent");
    expect(toolNamesOf(chat)).toEqual(expected);
    expect((chat.tools as Json[])[0]).toEqual(chatFn(tools[0] as Json));
    expect(chat).toMatchObject({
      tool_choice: "auto",
      parallel_tool_calls: true,
      stream: true,
      stream_options: { include_usage: true },
    });
    for (const key of "store include prompt_cache_key client_metadata reasoning reasoning_effort".split(" "))
      expect(chat).not.toHaveProperty(key);
    expect(result.promptCacheKey).toBe(CODEX_FIRST.prompt_cache_key);
    expect(result.echo.reasoning).toEqual({ effort: null, summary: "auto" });
  });

  it("ends Codex's tool-result turn with the exec_command call and its output verbatim", () => {
    const items = CODEX_TOOL_RESULT.input as Json[];
    const messages = chatOf(CODEX_TOOL_RESULT).messages as Json[];
    expect(messages.slice(-2)).toEqual([
      {
        role: "assistant",
        content: null,
        tool_calls: [chatCall("call_1", "exec_command", '{"cmd":"echo captured-tool-ran"}')],
      },
      toolMessage("call_1", "exec_command", items.at(-1)?.output),
    ]);
  });

  it("sends the openai SDK's instructions and max_output_tokens, unstreamed", () => {
    const chat = chatOf(OPENAI_PLAIN);
    expect(chat.messages).toEqual([
      { role: "system", content: "Be brief" },
      { role: "user", content: "Say hi" },
    ]);
    expect(chat.max_tokens).toBe(64);
    expect(chat).not.toHaveProperty("stream");
    expect(chat).not.toHaveProperty("stream_options");
  });

  it("maps the openai SDK's reasoning effort and drops strict from its function tool", () => {
    const chat = chatOf(OPENAI_TOOL);
    const [tool] = OPENAI_TOOL.tools as [Json];
    expect(tool.strict).toBe(true);
    expect(chat.reasoning_effort).toBe("low");
    expect(chat.tools).toEqual([chatFn(tool)]);
  });

  it("sends the openai SDK's json_schema format and its echoed function_call as a tool call", () => {
    const request = OPENAI_SCHEMA;
    const chat = chatOf(request);
    const format = (request.text as Json).format as Json;
    expect(chat.response_format).toEqual({
      type: "json_schema",
      json_schema: { name: "answer", schema: format.schema, strict: true },
    });
    expect(chat.messages).toEqual([
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [chatCall("call_1", "get_weather", '{"city":"Paris"}')],
      },
      toolMessage("call_1", "get_weather", "Sunny, 21 C"),
    ]);
  });

  it("sends the AI SDK's system message as the system prompt and input_text parts as a string", () => {
    expect(chatOf(AI_SDK_SYSTEM).messages).toEqual([
      { role: "system", content: "Be brief" },
      { role: "user", content: "Say hi" },
    ]);
  });
});

describe("the conversation", () => {
  it("sends a string input as one user message", () => {
    expect(chatOf(body({ input: "hello" })).messages).toEqual([{ role: "user", content: "hello" }]);
  });

  it.each([
    [
      "after a user message, appended to it",
      [user("a"), developer("note")],
      [user(`a\n\n${reminder("note")}`)],
    ],
    [
      "after an assistant message, prefixed to the next user message",
      [user("a"), assistant("b"), developer("note"), user("c")],
      [user("a"), { role: "assistant", content: "b" }, user(`${reminder("note")}\n\nc`)],
    ],
    [
      "at the end after an assistant message, as its own user message",
      [user("a"), assistant("b"), { role: "system", content: "note" }],
      [user("a"), { role: "assistant", content: "b" }, user(reminder("note"))],
    ],
    [
      "inside an assistant's run of calls, after the run's tool results",
      [
        user("go"),
        call("c1", "a", "{}"),
        developer("note"),
        call("c2", "b", "{}"),
        { type: "function_call_output", call_id: "c1", output: "A" },
        { type: "function_call_output", call_id: "c2", output: "B" },
      ],
      [
        user("go"),
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "c1", type: "function", function: { name: "a", arguments: "{}" } },
            { id: "c2", type: "function", function: { name: "b", arguments: "{}" } },
          ],
        },
        { role: "tool", tool_call_id: "c1", name: "a", content: "A" },
        { role: "tool", tool_call_id: "c2", name: "b", content: "B" },
        user(reminder("note")),
      ],
    ],
  ])("puts a later developer or system message into a user turn %s", (_, input, expected) => {
    expect(messagesOf(input)).toEqual(expected);
  });

  it("joins instructions and leading developer messages into one system message", () => {
    expect(
      messagesOf([developer("one"), { role: "system", content: "two" }, user("a")], { instructions: "zero" }),
    ).toEqual([{ role: "system", content: "zero\n\none\n\ntwo" }, user("a")]);
  });

  it("sends a run of assistant items as one assistant message, dropping reasoning inside it", () => {
    const input = [
      user("go"),
      { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "think" }] },
      assistant("Looking."),
      call("c1", "read", '{"path":"a"}'),
      { type: "reasoning", id: "rs_2", summary: [], encrypted_content: "opaque" },
      call("c2", "read", '{"path":"b"}'),
      output("c1", "A"),
      output("c2", "B"),
    ];
    expect(messagesOf(input)).toEqual([
      user("go"),
      {
        role: "assistant",
        content: "Looking.",
        tool_calls: [chatCall("c1", "read", '{"path":"a"}'), chatCall("c2", "read", '{"path":"b"}')],
      },
      toolMessage("c1", "read", "A"),
      toolMessage("c2", "read", "B"),
    ]);
  });

  const patch = { type: "custom_tool_call", call_id: "c1", name: "apply_patch", input: "*** Begin Patch" };
  it.each([
    ["a function_call with empty arguments", call("c1", "ping", ""), "ping", "{}"],
    ["a function_call with absent arguments", call("c1", "ping"), "ping", "{}"],
    [
      "a namespaced function_call",
      call("c1", "spawn_agent", "{}", "multi_agent_v1"),
      "multi_agent_v1__spawn_agent",
      "{}",
    ],
    ["a custom_tool_call", patch, "apply_patch", JSON.stringify({ input: "*** Begin Patch" })],
  ])("sends %s and its output under the chat name", (_, item, name, args) => {
    const type = `${item.type}_output`;
    expect(messagesOf([user("go"), item, { type, call_id: "c1", output: "ok" }]).slice(1)).toEqual([
      { role: "assistant", content: null, tool_calls: [chatCall("c1", name, args)] },
      { role: "tool", tool_call_id: "c1", name, content: "ok" },
    ]);
  });

  const shot = [text("screenshot taken"), { type: "input_image", image_url: PNG }];
  const image = { type: "image_url", image_url: { url: PNG } };

  it.each([
    ["after the whole run of tool messages", [], { role: "user", content: [image] }],
    [
      "merged into the user message that follows",
      [user("what?")],
      user([image, { type: "text", text: "what?" }]),
    ],
  ])("sends a tool's image in a user message %s", (_, after, last) => {
    const calls = [call("c1", "shot"), call("c2", "ls"), output("c1", shot), output("c2", "a.txt")];
    expect(messagesOf([user("go"), ...calls, ...after]).slice(2)).toEqual([
      toolMessage("c1", "shot", "screenshot taken"),
      toolMessage("c2", "ls", "a.txt"),
      last,
    ]);
  });

  it.each([
    [
      "an image with detail beside text, as parts",
      [text("What is this?"), { type: "input_image", image_url: PNG, detail: "high" }],
      [
        { type: "text", text: "What is this?" },
        { type: "image_url", image_url: { url: PNG, detail: "high" } },
      ],
    ],
    ["text parts only, as one string", [text("a"), text("b")], "a\n\nb"],
  ])("sends a user message of %s", (_, content, expected) => {
    expect(messagesOf([user(content)])).toEqual([user(expected)]);
  });

  it("drops the items of hosted tools, bookkeeping and unknown kinds", () => {
    const input = [
      user("a"),
      { type: "web_search_call", id: "ws_1", status: "completed", action: { type: "search", query: "x" } },
      { type: "local_shell_call", id: "ls_1", call_id: "c9", action: { type: "exec", command: ["ls"] } },
      { type: "compaction", encrypted_content: "opaque" },
      { type: "reasoning", id: "rs_1", summary: [] },
      { type: "something_new", payload: 1 },
      user("b"),
    ];
    expect(messagesOf(input)).toEqual([user("a"), user("b")]);
  });
});

describe("tools", () => {
  it("sends a custom tool as a function taking one string input, its grammar in the description", () => {
    const grammar = 'start: "*** Begin Patch"';
    const format = { type: "grammar", syntax: "lark", definition: grammar };
    const tools = [{ type: "custom", name: "apply_patch", description: "Patch files.", format }];
    const result = translated(body({ tools }));
    expect(result.chat.tools).toEqual([
      {
        type: "function",
        function: {
          name: "apply_patch",
          description: `Patch files.\n\nThe input must match this lark grammar:\n${grammar}`,
          parameters: {
            type: "object",
            properties: { input: { type: "string", description: expect.any(String) } },
            required: ["input"],
            additionalProperties: false,
          },
        },
      },
    ]);
    expect(result.tools.resolve("apply_patch")).toEqual(client("apply_patch", null, true));
  });

  it("gives a too-long namespaced name one valid chat name, the same in tools and history", () => {
    const child = `spawn_${"x".repeat(70)}`;
    const tools = [{ type: "namespace", name: "multi_agent_v1", tools: [fn(child)] }];
    const result = translated(
      body({ tools, input: [user("go"), call("c1", child, "{}", "multi_agent_v1")] }),
    );
    const [name] = toolNamesOf(result.chat);
    expect(name).toMatch(VALID_NAME);
    expect((result.chat.messages as Json[])[1]).toMatchObject({ tool_calls: [{ function: { name } }] });
    expect(result.tools.resolve(name as string)).toEqual(client(child, "multi_agent_v1"));
  });

  it.each([
    ["multi_agent_v1__spawn_agent", client("spawn_agent", "multi_agent_v1")],
    ["wait_agent", client("wait_agent", "multi_agent_v1")],
    ["exec_command", client("exec_command")],
    ["no_such_tool", client("no_such_tool")],
  ])("reads the model's call of %s back to the client's tool", (name, expected) => {
    expect(translated(CODEX_FIRST).tools.resolve(name)).toEqual(expected);
  });
});

describe("tool_choice", () => {
  const all = ["a", "b", "get_weather"];
  const tools = all.map(fn);

  it.each([
    ["required", "required", all],
    ["none", "none", all],
    [{ type: "function", name: "get_weather" }, { type: "function", function: { name: "get_weather" } }, all],
    [
      { type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "a" }] },
      "required",
      ["a"],
    ],
    [{ type: "allowed_tools", mode: "auto", tools: [{ type: "function", name: "b" }] }, "auto", ["b"]],
  ])("maps %j", (choice, expected, names) => {
    const chat = chatOf(body({ tools, tool_choice: choice }));
    expect(chat.tool_choice).toEqual(expected);
    expect(toolNamesOf(chat)).toEqual(names);
  });

  it("refuses forcing a hosted tool", () => {
    const refusal = refusalOf(
      body({ tools: [...tools, { type: "web_search" }], tool_choice: { type: "web_search" } }),
    );
    expect(refusal).toMatchObject({ param: "tool_choice" });
    expect(refusal.message).toContain("web_search");
  });

  it("sends neither tools nor tool_choice when every tool is hosted or of a kind it does not know", () => {
    const chat = chatOf(
      body({
        tools: [{ type: "web_search" }, { type: "tool_kind_from_a_newer_client", name: "x" }],
        tool_choice: "auto",
        parallel_tool_calls: true,
      }),
    );
    expect(chat).not.toHaveProperty("tools");
    expect(chat).not.toHaveProperty("tool_choice");
    expect(chat).not.toHaveProperty("parallel_tool_calls");
  });
});

describe("parameters", () => {
  it.each([
    ["temperature and top_p", { temperature: 0, top_p: 0.9 }, { temperature: 0, top_p: 0.9 }],
    [
      "a json_object format",
      { text: { format: { type: "json_object" } } },
      { response_format: { type: "json_object" } },
    ],
    ["effort minimal", { reasoning: { effort: "minimal" } }, { reasoning_effort: "low" }],
    ["effort medium", { reasoning: { effort: "medium" } }, { reasoning_effort: "medium" }],
    ["effort xhigh", { reasoning: { effort: "xhigh" } }, { reasoning_effort: "high" }],
  ])("sends %s", (_, extra, expected) => {
    expect(chatOf(body(extra))).toMatchObject(expected);
  });

  it.each([
    ["a text format", { text: { format: { type: "text" } } }, "response_format"],
    ["effort none", { reasoning: { effort: "none" } }, "reasoning_effort"],
  ])("sends nothing for %s", (_, extra, key) => {
    expect(chatOf(body(extra))).not.toHaveProperty(key);
  });
});

describe("refusals", () => {
  it.each([
    ["previous_response_id", { previous_response_id: "resp_x" }, "previous_response_id", "resp_x"],
    ["conversation", { conversation: "conv_1" }, "conversation", "Conversations"],
    ["background", { background: true }, "background", "Background"],
    ["a stored prompt", { prompt: { id: "pmpt_1" } }, "prompt", "prompt"],
    ["an item_reference", { input: [user("a"), { type: "item_reference", id: "msg_1" }] }, "input", "store"],
    ["an input_file part", onlyPart({ type: "input_file", file_id: "file_1" }), "input", "input_file"],
    ["an image by file id", onlyPart({ type: "input_image", file_id: "file_1" }), "input", "image_url"],
    ["a missing model", { model: undefined }, "model", "model: is required"],
    ["a numeric input", { input: 5 }, "input", "input"],
    ["a tool without a type", { tools: [{ name: "x" }] }, "tools", "tools.0.type"],
    ["a nameless function tool", { tools: [{ type: "function", parameters: {} }] }, "tools", "tools.0.name"],
    ["only a developer message", { input: [developer("rules")] }, "input", "at least one message"],
  ])("refuses %s", (_, extra, param, words) => {
    // Through JSON, as a client sends it: a key set to undefined is absent.
    const refusal = refusalOf(JSON.parse(JSON.stringify(body(extra))));
    expect(refusal.param).toBe(param);
    expect(refusal.message).toContain(words);
  });

  it("refuses a previous response id with OpenAI's code", () => {
    expect(refusalOf(body({ previous_response_id: "resp_x" })).code).toBe("previous_response_not_found");
  });

  it("accepts store: true, keeping nothing of it in the chat body", () => {
    expect(chatOf(body({ store: true }))).not.toHaveProperty("store");
  });
});

describe("the echo", () => {
  it("echoes the client's tools as sent, its instructions and its reasoning settings", () => {
    const tools = [fn("a"), { type: "web_search" }, { type: "namespace", name: "ns", tools: [fn("b")] }];
    const { echo } = translated(
      body({ tools, instructions: "Be brief", reasoning: { effort: "minimal", summary: "detailed" } }),
    );
    expect(echo.tools).toEqual(tools);
    expect(echo.instructions).toBe("Be brief");
    expect(echo.reasoning).toEqual({ effort: "minimal", summary: "detailed" });
  });
});
