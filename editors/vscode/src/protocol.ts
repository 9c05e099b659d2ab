// The wire contract with the LocalGPT language server (DESIGN.md "Language server"). Every
// command takes ONE JSON object as its only argument; these types mirror schemas/ so that a
// change on the server side shows up here as a type error, not as a silent runtime surprise.

/** `localgpt/status` notification: what the server is busy with. */
export interface StatusParams {
  // "starting"/"ready" come from the part-1 server, "idle"/"thinking" from part 2; all are shown.
  state: "starting" | "ready" | "idle" | "indexing" | "thinking" | "error";
  message?: string;
}

/** `localgpt/chatDelta` notification: one streamed piece of a chat reply. */
export interface ChatDeltaParams {
  session_id?: string;
  text: string;
}

export interface ChatArgs {
  message: string;
  session_id?: string;
  context?: string;
  model?: string;
}

export interface ChatResult {
  response: string;
  session_id: string;
  model: string;
}

export interface MemorySearchArgs {
  query: string;
  limit?: number;
}

export interface SearchHit {
  /** Path relative to the workspace, e.g. "knowledge/x.md". */
  file: string;
  /** 1-based, inclusive. */
  line_start: number;
  line_end: number;
  content: string;
  score: number;
}

export interface MemorySearchResult {
  query: string;
  results: SearchHit[];
  mode?: string;
  /** Absolute workspace path, when the server includes it. */
  workspace?: string;
}

export interface RememberArgs {
  text: string;
  target?: "daily" | "memory";
}

export const Commands = {
  chat: "localgpt.chat",
  memorySearch: "localgpt.memorySearch",
  reindex: "localgpt.reindex",
  heartbeatRun: "localgpt.heartbeatRun",
  heartbeatStatus: "localgpt.heartbeatStatus",
  remember: "localgpt.remember",
  assist: "localgpt.assist",
  openDailyLog: "localgpt.openDailyLog",
  sessions: "localgpt.sessions",
  openChatDocument: "localgpt.openChatDocument",
} as const;

export const Notifications = {
  status: "localgpt/status",
  chatDelta: "localgpt/chatDelta",
} as const;
