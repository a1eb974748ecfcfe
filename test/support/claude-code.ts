// Claude Code's requests as the real CLI sends them (fixtures/claude-code/), for tests and the smoke suite:
// the captured turns, and from them the larger shapes a long session grows into (a screenshot at its captured
// size, a tool history of a given size). Plain data and functions, no runtime imports.
import bashTurn from "../../fixtures/claude-code/2.1.337-bash-tool-result.json" with { type: "json" };
import firstRequest from "../../fixtures/claude-code/2.1.337-first-request.json" with { type: "json" };
import screenshotTurn from "../../fixtures/claude-code/2.1.337-screenshot-tool-result.json" with {
  type: "json",
};
import toolSearchTurn from "../../fixtures/claude-code/2.1.337-tool-search-result.json" with { type: "json" };

export type Body = Record<string, unknown> & { messages: Array<Record<string, unknown>> };

export interface CapturedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Body;
}

const copy = <T>(value: T): T => structuredClone(value);

export const CLAUDE_CODE = {
  firstRequest: () => copy(firstRequest) as CapturedRequest,
  bashToolResult: () => copy(bashTurn) as CapturedRequest,
  toolSearchResult: () => copy(toolSearchTurn) as CapturedRequest,
  /** The screenshot turn, its image padded back to the size Claude Code sent (about 480 KB of JPEG). */
  screenshotToolResult: (base64Length?: number) => {
    const captured = copy(screenshotTurn) as CapturedRequest;
    for (const image of imagesOf(captured.body)) {
      const length = base64Length ?? image.source._captured_length;
      image.source.data = image.source.data.padEnd(length, "A");
      delete (image.source as { _captured_length?: number })._captured_length;
    }
    return captured;
  },
};

type ImageBlock = { source: { data: string; _captured_length: number } };

function imagesOf(body: Body): ImageBlock[] {
  const images: ImageBlock[] = [];
  for (const message of body.messages) {
    if (!Array.isArray(message.content)) continue;
    for (const block of message.content as Array<Record<string, unknown>>) {
      const inner = Array.isArray(block.content)
        ? (block.content as Array<Record<string, unknown>>)
        : [block];
      for (const item of inner) if (item.type === "image") images.push(item as unknown as ImageBlock);
    }
  }
  return images;
}

/**
 * A Claude Code session grown to about `toolOutputChars` of tool output on top of the captured Bash turn:
 * `turns` more rounds of Bash calls and results, each result a slice of `grep -rn` output over TypeScript
 * (3.2 to 3.7 characters a token to Qwen3, Gemma 3 and Mistral Nemo: 250,000 characters is 68k–79k tokens).
 */
export function longToolSession(toolOutputChars: number, turns = 30): CapturedRequest {
  const captured = CLAUDE_CODE.bashToolResult();
  const perTurn = Math.ceil(toolOutputChars / turns);
  const line =
    'src/routing/plan.ts:42:  const fit = planFit(models, capabilitiesOf, request.profile, mode.kind !== "direct");\n';
  for (let turn = 0; turn < turns; turn++) {
    const id = `toolu_session_${turn}`;
    captured.body.messages.push(
      {
        role: "assistant",
        content: [
          {
            type: "tool_use",
            id,
            name: "Bash",
            input: { command: `grep -rn fit src | head -${turn + 100}` },
          },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: id, content: line.repeat(Math.ceil(perTurn / line.length)) },
        ],
      },
    );
  }
  return captured;
}
