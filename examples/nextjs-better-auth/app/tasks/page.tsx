import { TaskList } from "./task-list";

// Read at request time, so the API's address is set where the app runs
// (TASK_API_URL), not baked into the build.
export const dynamic = "force-dynamic";

export default function TasksPage() {
  const apiUrl = (process.env.TASK_API_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
  return <TaskList apiUrl={apiUrl} />;
}
