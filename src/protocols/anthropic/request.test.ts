import { describe, expect, it } from "vitest";
import { CLAUDE_CODE } from "../../../test/support/claude-code.ts";
import { translateRequest } from "./request.ts";
import { encodeToolId } from "./tool-ids.ts";

const KIMI_ID = "functions.Bash:0";
const PNG_DATA = "iVBORw0KGgo=";
const SESSION = "0b7c6a5e-1234-4cde-8f00-9a8b7c6d5e4f";

function body(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: "claude-sonnet-4-6",
    max_tokens: 1024,
    messages: [{ role: "user", content: "hi" }],
    ...extra,
  };
}

/** The translated chat body as the upstream receives it (serialized: a data: URL kept in pieces is one URL). */
function chatOf(input: unknown): Record<string, unknown> {
  const result = translateRequest(input);
  if (!result.ok) throw new Error(`expected a translation, got ${result.message}`);
  return JSON.parse(JSON.stringify(result.chat)) as Record<string, unknown>;
}

describe("translateRequest", () => {
  it.each([
    ["a string", "Be brief.", "Be brief."],
    [
      "text blocks",
      [
        { type: "text", text: "One." },
        { type: "text", text: "Two.", cache_control: {} },
      ],
      "One.\n\nTwo.",
    ],
  ])("sends system given as %s as one leading system message", (_, system, expected) => {
    expect(chatOf(body({ system })).messages).toEqual([
      { role: "system", content: expected },
      { role: "user", content: "hi" },
    ]);
  });

  it("sends a user turn of text blocks only as string content", () => {
    const content = [
      { type: "text", text: "a" },
      { type: "text", text: "b" },
    ];
    expect(chatOf(body({ messages: [{ role: "user", content }] })).messages).toEqual([
      { role: "user", content: "a\n\nb" },
    ]);
  });

  it.each([
    [
      "base64",
      { type: "base64", media_type: "image/png", data: PNG_DATA },
      `data:image/png;base64,${PNG_DATA}`,
    ],
    ["url", { type: "url", url: "https://example.com/cat.png" }, "https://example.com/cat.png"],
  ])("turns a %s image into an image_url part beside the text", (_, source, url) => {
    const content = [
      { type: "text", text: "What is this?" },
      { type: "image", source },
    ];
    expect(chatOf(body({ messages: [{ role: "user", content }] })).messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url } },
        ],
      },
    ]);
  });

  it("places tool results as tool messages before the text beside them, keeping the text", () => {
    const messages = [
      { role: "user", content: "list files" },
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "toolu_1", name: "Bash", input: { cmd: "ls" } }],
      },
      {
        role: "user",
        content: [
          { type: "text", text: "also this" },
          {
            type: "tool_result",
            tool_use_id: "toolu_1",
            content: [
              { type: "text", text: "a.txt" },
              { type: "text", text: "b.txt" },
            ],
          },
          { type: "tool_result", tool_use_id: "toolu_2", content: "denied", is_error: true },
        ],
      },
    ];
    expect(chatOf(body({ messages })).messages).toEqual([
      { role: "user", content: "list files" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "toolu_1", type: "function", function: { name: "Bash", arguments: '{"cmd":"ls"}' } },
        ],
      },
      { role: "tool", tool_call_id: "toolu_1", content: "a.txt\n\nb.txt" },
      { role: "tool", tool_call_id: "toolu_2", content: "Error: denied" },
      { role: "user", content: "also this" },
    ]);
  });

  it("moves images returned by a tool into the user message after the tool messages", () => {
    const image = { type: "image", source: { type: "base64", media_type: "image/png", data: PNG_DATA } };
    const content = [
      { type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "shot" }, image] },
    ];
    expect(chatOf(body({ messages: [{ role: "user", content }] })).messages).toEqual([
      { role: "tool", tool_call_id: "t1", content: "shot" },
      {
        role: "user",
        content: [{ type: "image_url", image_url: { url: `data:image/png;base64,${PNG_DATA}` } }],
      },
    ]);
  });

  it("decodes an encoded Kimi id back exactly in both tool_use and tool_result", () => {
    const id = encodeToolId(KIMI_ID);
    const messages = [
      { role: "user", content: "run it" },
      { role: "assistant", content: [{ type: "tool_use", id, name: "Bash", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: id, content: "ok" }] },
    ];
    const chat = chatOf(body({ messages })).messages as Record<string, unknown>[];
    expect(chat[1]).toMatchObject({ tool_calls: [{ id: KIMI_ID }] });
    expect(chat[2]).toEqual({ role: "tool", tool_call_id: KIMI_ID, content: "ok" });
  });

  it("keeps assistant text beside tool calls and drops thinking blocks", () => {
    const content = [
      { type: "thinking", thinking: "hmm", signature: "sig" },
      { type: "redacted_thinking", data: "opaque" },
      { type: "text", text: "Let me look." },
      { type: "tool_use", id: "t1", name: "Read", input: { path: "a" } },
    ];
    const messages = [
      { role: "user", content: "go" },
      { role: "assistant", content },
    ];
    expect((chatOf(body({ messages })).messages as unknown[])[1]).toEqual({
      role: "assistant",
      content: "Let me look.",
      tool_calls: [{ id: "t1", type: "function", function: { name: "Read", arguments: '{"path":"a"}' } }],
    });
  });

  it("forwards custom tools as functions and skips Anthropic-defined ones", () => {
    const tools = [
      { name: "Bash", description: "Run a command", input_schema: { type: "object" } },
      { type: "custom", name: "Read", input_schema: { type: "object", properties: {} } },
      { type: "web_search_20250305", name: "web_search", max_uses: 5 },
    ];
    expect(chatOf(body({ tools })).tools).toEqual([
      {
        type: "function",
        function: { name: "Bash", description: "Run a command", parameters: { type: "object" } },
      },
      {
        type: "function",
        function: { name: "Read", description: "", parameters: { type: "object", properties: {} } },
      },
    ]);
  });

  it.each([
    [{ type: "auto" }, { tool_choice: "auto" }],
    [{ type: "any" }, { tool_choice: "required" }],
    [{ type: "none" }, { tool_choice: "none" }],
    [{ type: "tool", name: "Bash" }, { tool_choice: { type: "function", function: { name: "Bash" } } }],
    [
      { type: "any", disable_parallel_tool_use: true },
      { tool_choice: "required", parallel_tool_calls: false },
    ],
  ])("maps tool_choice %j", (toolChoice, expected) => {
    const tools = [{ name: "Bash", input_schema: { type: "object" } }];
    const chat = chatOf(body({ tools, tool_choice: toolChoice }));
    expect({ tool_choice: chat.tool_choice, parallel_tool_calls: chat.parallel_tool_calls }).toEqual({
      parallel_tool_calls: undefined,
      ...expected,
    });
  });

  it("passes sampling settings and maps stop_sequences to stop", () => {
    const chat = chatOf(
      body({ stop_sequences: ["###"], temperature: 0.2, top_p: 0.9, top_k: 40, max_tokens: 50 }),
    );
    expect(chat).toMatchObject({ max_tokens: 50, stop: ["###"], temperature: 0.2, top_p: 0.9, top_k: 40 });
    expect(translateRequest(body({ stop_sequences: ["###"] }))).toMatchObject({ stopSequences: ["###"] });
  });

  it.each([
    [1024, "low"],
    [1025, "medium"],
    [8192, "medium"],
    [32000, "high"],
  ])("maps a thinking budget of %i tokens to reasoning_effort %s", (budget, effort) => {
    expect(chatOf(body({ thinking: { type: "enabled", budget_tokens: budget } })).reasoning_effort).toBe(
      effort,
    );
  });

  it.each([
    [{ stream: true }, { stream: true, stream_options: { include_usage: true } }],
    [
      { stream: true, stream_options: { include_usage: false } },
      { stream: true, stream_options: { include_usage: true } },
    ],
    [{ stream: false }, { stream: undefined, stream_options: undefined }],
  ])("always asks a stream for usage: %j", (extra, expected) => {
    const result = translateRequest(body(extra));
    expect(result).toMatchObject({ ok: true, stream: extra.stream });
    const chat = chatOf(body(extra));
    expect({ stream: chat.stream, stream_options: chat.stream_options }).toEqual(expected);
  });

  it("never forwards metadata, model or unknown fields", () => {
    const chat = chatOf(body({ metadata: { user_id: "u" }, service_tier: "auto", container: "c" }));
    expect(Object.keys(chat).sort()).toEqual(["max_tokens", "messages"]);
  });

  it.each([
    ["a JSON user_id with session_id", JSON.stringify({ device_id: "d", session_id: SESSION }), SESSION],
    [
      "a legacy user_id",
      `user_abc123_account_11111111-2222-3333-4444-555555555555_session_${SESSION}`,
      SESSION,
    ],
    ["a user_id without a session", "user_abc123", null],
    ["a JSON user_id without session_id", JSON.stringify({ device_id: "d" }), null],
  ])("reads the session id from %s", (_, userId, expected) => {
    expect(translateRequest(body({ metadata: { user_id: userId } }))).toMatchObject({ sessionId: expected });
  });

  it.each([
    ["a body that is not an object", "hello", "body: must be a JSON object"],
    ["a missing model", { max_tokens: 1, messages: [{ role: "user", content: "x" }] }, "model: is required"],
    ["an empty model", body({ model: " " }), "model: must not be empty"],
    ["a null max_tokens", body({ max_tokens: null }), "max_tokens: must be an integer"],
    [
      "a missing max_tokens",
      { model: "m", messages: [{ role: "user", content: "x" }] },
      "max_tokens: is required",
    ],
    ["a fractional max_tokens", body({ max_tokens: 1.5 }), "max_tokens: must be an integer"],
    ["a zero max_tokens", body({ max_tokens: 0 }), "max_tokens: must be at least 1"],
    ["no messages", body({ messages: [] }), "messages: must not be empty"],
    ["a bad role", body({ messages: [{ role: "tool", content: "secret" }] }), "messages.0.role: must be"],
    [
      "content of the wrong type",
      body({ messages: [{ role: "user", content: 7 }] }),
      "messages.0.content: must be",
    ],
    [
      "a text block without text",
      body({ messages: [{ role: "user", content: [{ type: "text", text: "ok" }, { type: "text" }] }] }),
      "messages.0.content.1.text: is required",
    ],
    [
      "an unknown block type",
      body({ messages: [{ role: "user", content: [{ type: "document", secret: "x" }] }] }),
      "messages.0.content.0.type: must be a text, image",
    ],
    [
      "a bad image source",
      body({ messages: [{ role: "user", content: [{ type: "image", source: { type: "file" } }] }] }),
      "messages.0.content.0.source.type: must be a base64 or url image source",
    ],
    [
      "a tool_use block in a user turn",
      body({ messages: [{ role: "user", content: [{ type: "tool_use", id: "t", name: "n", input: {} }] }] }),
      "messages.0.content: tool_use blocks belong to assistant messages",
    ],
    [
      "a tool_result without an id",
      body({ messages: [{ role: "user", content: [{ type: "tool_result", content: "x" }] }] }),
      "messages.0.content.0.tool_use_id: is required",
    ],
    [
      "a system of the wrong type",
      body({ system: 5 }),
      "system: must be a string or an array of text blocks",
    ],
    [
      "stop_sequences that are not strings",
      body({ stop_sequences: [1] }),
      "stop_sequences.0: must be a string",
    ],
    ["a string temperature", body({ temperature: "hot" }), "temperature: must be a number"],
    [
      "a tool without a schema",
      body({ tools: [{ type: "web_search_20250305", name: "web_search" }, { name: "Bash" }] }),
      "tools.1.input_schema: is required",
    ],
    [
      "a tool schema that is not an object",
      body({ tools: [{ name: "Bash", input_schema: [] }] }),
      "tools.0.input_schema: must be an object",
    ],
    ["a tool without a name", body({ tools: [{ input_schema: {} }] }), "tools.0.name: is required"],
    ["an unknown tool_choice", body({ tool_choice: { type: "some" } }), "tool_choice.type: must have type"],
    ["a non-boolean stream", body({ stream: "yes" }), "stream: must be true or false"],
  ])("refuses %s and names the field", (_, input, expected) => {
    const result = translateRequest(input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.message.slice(0, expected.length)).toBe(expected);
      expect(result.message).not.toMatch(/secret|hot/);
    }
  });
});

type Message = { role: string; content: unknown; tool_calls?: unknown; tool_call_id?: string };
const messagesOf = (chat: Record<string, unknown>) => chat.messages as Message[];
const toolNames = (chat: Record<string, unknown>) =>
  ((chat.tools ?? []) as Array<{ function: { name: string } }>).map((tool) => tool.function.name);

/** What every Chutes chat template accepts: one system message, first; roles alternating; tools after calls. */
function expectTemplateSafe(messages: Message[]): void {
  expect(messages.filter((message) => message.role === "system").length).toBeLessThanOrEqual(1);
  messages.forEach((message, index) => {
    if (message.role === "system") expect(index).toBe(0);
    const previous = messages[index - 1];
    if (message.role === "user") expect(previous?.role).not.toBe("user");
    if (message.role === "tool") expect(["assistant", "tool"]).toContain(previous?.role);
  });
}

describe("translateRequest on what Claude Code 2.1.337 sends (fixtures/claude-code)", () => {
  it("translates the first request: the system entry after the user's message joins that message", () => {
    const result = translateRequest(CLAUDE_CODE.firstRequest().body);
    if (!result.ok) throw new Error(result.message);
    const messages = messagesOf(result.chat);
    expect(messages.map((message) => message.role)).toEqual(["system", "user"]);
    expectTemplateSafe(messages);
    const user = messages[1]?.content as string;
    expect(user).toContain("Say hello");
    expect(user.endsWith("</system-reminder>")).toBe(true);
    expect(result).toMatchObject({ stream: true, omitThinking: true, sessionId: expect.any(String) });
  });

  it("maps adaptive thinking's effort, keeps max_tokens for the router to fit, and drops what Chutes cannot use", () => {
    const chat = chatOf(CLAUDE_CODE.firstRequest().body);
    expect(chat).toMatchObject({
      max_tokens: 128_000,
      reasoning_effort: "medium",
      stream: true,
      stream_options: { include_usage: true },
    });
    for (const dropped of ["thinking", "context_management", "output_config", "metadata", "system"])
      expect(chat).not.toHaveProperty(dropped);
  });

  it("leaves out a deferred tool until a tool search loads it", () => {
    const first = chatOf(CLAUDE_CODE.firstRequest().body);
    expect(toolNames(first)).toContain("ToolSearch");
    expect(toolNames(first)).not.toContain("DeferredToolPlaceholder");
    const searched = chatOf(CLAUDE_CODE.toolSearchResult().body);
    expect(toolNames(searched)).toContain("WebFetch");
    expect(toolNames(searched)).not.toContain("DeferredToolPlaceholder");
    const result = messagesOf(searched).find((message) => message.role === "tool");
    expect(result?.content).toBe("Loaded tool: WebFetch");
    expectTemplateSafe(messagesOf(searched));
  });

  it("keeps a tool result right after its call when a system entry came between the turns", () => {
    const messages = messagesOf(chatOf(CLAUDE_CODE.bashToolResult().body));
    expect(messages.map((message) => message.role)).toEqual(["system", "user", "assistant", "tool"]);
    expectTemplateSafe(messages);
  });

  it("passes a screenshot from a tool result on as an image after the tool message", () => {
    const messages = messagesOf(chatOf(CLAUDE_CODE.screenshotToolResult().body));
    expectTemplateSafe(messages);
    const last = messages.at(-1);
    expect(last?.role).toBe("user");
    const parts = last?.content as Array<{ type: string; image_url?: { url: string } }>;
    expect(parts.find((part) => part.type === "image_url")?.image_url?.url).toMatch(
      /^data:image\/jpeg;base64,\/9j\//,
    );
  });

  it("puts system entries before the first turn into the leading system message", () => {
    const chat = chatOf(
      body({
        system: "Base.",
        messages: [
          { role: "system", content: [{ type: "text", text: "Extra." }] },
          { role: "user", content: "hi" },
        ],
      }),
    );
    expect(messagesOf(chat)).toEqual([
      { role: "system", content: "Base.\n\nExtra." },
      { role: "user", content: "hi" },
    ]);
  });

  it("keeps a system entry between two assistant turns where it stands, as a user turn", () => {
    const messages = messagesOf(
      chatOf(
        body({
          messages: [
            { role: "user", content: "a" },
            { role: "assistant", content: "b" },
            { role: "system", content: "note" },
            { role: "assistant", content: "c" },
          ],
        }),
      ),
    );
    expect(messages.map((message) => message.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(messages[2]?.content).toBe("<system-reminder>\nnote\n</system-reminder>");
  });

  it("turns output_config.format into structured outputs", () => {
    const schema = { type: "object", properties: { answer: { type: "string" } } };
    expect(
      chatOf(body({ output_config: { format: { type: "json_schema", schema } } })).response_format,
    ).toEqual({
      type: "json_schema",
      json_schema: { name: "output", schema, strict: true },
    });
  });

  it.each([
    [{ output_config: { effort: "max" } }, "high"],
    [{ output_config: { effort: "low" }, thinking: { type: "enabled", budget_tokens: 30_000 } }, "low"],
    [{ thinking: { type: "adaptive" } }, undefined],
    [{ thinking: { type: "disabled" } }, undefined],
  ])("maps %j to reasoning_effort %s", (extra, effort) => {
    expect(chatOf(body(extra)).reasoning_effort).toBe(effort);
  });

  it("accepts fields it does not use without refusing", () => {
    const result = translateRequest(
      body({
        context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
        container: "c1",
        service_tier: "auto",
        mcp_servers: [],
        thinking: { type: "adaptive", display: "summarized" },
      }),
    );
    expect(result.ok).toBe(true);
  });
});
