// The task list: add, complete, edit, delete, filter and sort.
//
// The keyboard focus stays where a keyboard user expects it: on the
// checkbox just toggled, on a task's Edit button after its edit is saved
// or cancelled (Escape cancels too), in the title field after adding or
// deleting. The filter and the sort are kept in localStorage (`task-view`,
// never anything about the user), so a reload shows the list as it was.

import { $, el, say, run, onSubmit } from './messages.js';
import { api, current } from './session.js';

const VIEW_KEY = 'task-view';
const CHOICES = { status: ['all', 'pending', 'completed'], sort: ['created', 'title'] };

function savedQuery() {
  const query = { status: 'all', sort: 'created' };
  try {
    const saved = JSON.parse(localStorage.getItem(VIEW_KEY) || '{}');
    for (const [name, values] of Object.entries(CHOICES)) {
      if (values.includes(saved?.[name])) query[name] = saved[name];
    }
  } catch {
    // Unreadable: the defaults.
  }
  return query;
}

let tasksQuery = savedQuery();

const tasksPath = () => `/api/${encodeURIComponent(current().user.id)}/tasks`;

// `focus`: where the focus goes once the list is drawn again, a function
// of the list (the old elements are gone).
export async function loadTasks(focus) {
  const query = new URLSearchParams(tasksQuery);
  const tasks = await api('GET', `${tasksPath()}?${query}`);
  $('#task-list').replaceChildren(...tasks.map(taskItem));
  $('#no-tasks').hidden = tasks.length > 0;
  focus?.();
}

const focusOn = (selector, fallback = '#new-title') => () => ($(selector) || $(fallback)).focus();

function taskItem(task) {
  const path = `${tasksPath()}/${task.id}`;
  const done = el('input', { type: 'checkbox', checked: task.completed, id: `done-${task.id}` });
  done.addEventListener('change', () =>
    run(async () => {
      await api('PATCH', `${path}/complete`);
      // Filtered out now: the focus goes to the filter that hid it.
      await loadTasks(focusOn(`#done-${task.id}`, '#filter-status'));
      say(`“${task.title}” marked ${task.completed ? 'not done' : 'done'}.`);
    }),
  );
  const edit = el('button', { type: 'button', textContent: 'Edit', id: `edit-${task.id}` });
  edit.setAttribute('aria-label', `Edit “${task.title}”`);
  edit.addEventListener('click', () => item.replaceWith(editForm(task, path)));
  const remove = el('button', { type: 'button', textContent: 'Delete' });
  remove.setAttribute('aria-label', `Delete “${task.title}”`);
  remove.addEventListener('click', () =>
    run(async () => {
      await api('DELETE', path);
      await loadTasks(focusOn('#new-title'));
      say(`“${task.title}” deleted.`);
    }),
  );
  const item = el(
    'li',
    { className: task.completed ? 'task done' : 'task' },
    done,
    el('label', { htmlFor: done.id, textContent: task.title }),
    el('span', { className: 'actions' }, edit, remove),
    task.description ? el('p', { className: 'description', textContent: task.description }) : null,
  );
  return item;
}

function editForm(task, path) {
  const title = el('input', { value: task.title, maxLength: 200, required: true, name: 'title', id: `edit-title-${task.id}` });
  const description = el('textarea', {
    value: task.description || '',
    maxLength: 1000,
    rows: 2,
    name: 'description',
    id: `edit-description-${task.id}`,
  });
  const save = el('button', { type: 'submit', textContent: 'Save' });
  const cancel = el('button', { type: 'button', textContent: 'Cancel', className: 'secondary' });
  const backToEdit = focusOn(`#edit-${task.id}`);
  const stop = () =>
    run(async () => {
      await loadTasks(backToEdit);
      say('Edit cancelled.');
    });
  cancel.addEventListener('click', stop);
  const form = el(
    'form',
    { className: 'edit', id: `edit-${task.id}-form` },
    el('label', { htmlFor: title.id, textContent: 'Title' }),
    title,
    el('label', { htmlFor: description.id, textContent: 'Details' }),
    description,
    el('p', { className: 'row' }, save, cancel),
  );
  form.setAttribute('aria-label', `Edit “${task.title}”`);
  form.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    event.preventDefault();
    stop();
  });
  const item = el('li', { className: 'task editing' }, form);
  queueMicrotask(() => {
    onSubmit(`#${form.id}`, async ({ title: newTitle, description: details }) => {
      await api('PUT', path, { title: newTitle, description: details || null });
      await loadTasks(backToEdit);
      say('Task saved.');
    });
    title.focus();
  });
  return item;
}

onSubmit('#new-task-form', async ({ title, description }, form) => {
  await api('POST', tasksPath(), { title, ...(description ? { description } : {}) });
  form.reset();
  await loadTasks(focusOn('#new-title'));
  say(`“${title.trim()}” added.`);
});

for (const name of Object.keys(CHOICES)) {
  const select = $(`#filter-${name}`);
  select.value = tasksQuery[name];
  select.addEventListener('change', () => {
    tasksQuery = { ...tasksQuery, [name]: select.value };
    localStorage.setItem(VIEW_KEY, JSON.stringify(tasksQuery));
    run(() => loadTasks());
  });
}
