/**
 * The Meross LAN settings page inside homebridge-config-ui-x. The platform block stays the single source of truth:
 * every change here goes straight into it (updatePluginConfig), and edits made in the schema form come back through
 * `configChanged`, so switching between this page and the form loses nothing.
 */
(() => {
  'use strict';

  const hb = window.homebridge;
  const PLATFORM = 'MerossLan';
  const $ = (id) => document.getElementById(id);

  /** The MerossLan platform block being edited. */
  let block = { platform: PLATFORM, name: 'Meross' };
  /** Further MerossLan blocks (child bridges, README "Many plugs"): edited in JSON only, kept as they are on save. */
  let others = [];
  /** The signed-in account: { email, key, devices }; from this visit or remembered by the server. */
  let account = null;
  /** Subnets a scan would use without any input (discovery.subnets, MEROSS_LAN_SUBNETS or this host's networks). */
  let defaultSubnets = [];
  /** One row per plug, by uuid (or by address while the uuid is unknown), in display order. */
  const rows = new Map();
  let schemaShown = false;
  let pushing = Promise.resolve();

  // ---------- model ----------

  const idFor = (uuid, host) => (uuid ? `u:${uuid}` : `h:${String(host).toLowerCase()}`);

  function rowFor(uuid, host) {
    let row = (uuid && rows.get(idFor(uuid))) || undefined;
    if (!row && host) {
      // A plug first known by address (a config entry without uuid, or the manual row) gets its uuid now.
      const byHost = rows.get(idFor(undefined, host));
      if (byHost && uuid) {
        rows.delete(byHost.id);
        byHost.id = idFor(uuid);
        byHost.uuid = uuid;
        rows.set(byHost.id, byHost);
      }
      row = byHost;
    }
    if (!row) {
      row = { id: idFor(uuid, host), uuid: uuid || '', host: host || '', name: '', model: '', firmware: '', key: undefined, online: null, keyOk: null, selected: false, entry: null, test: null };
      rows.set(row.id, row);
    }
    return row;
  }

  /** Rows from the config's `devices`; rows it no longer lists (removed in the schema form) are unticked. */
  function loadConfig(config) {
    block = config && typeof config === 'object' ? config : { platform: PLATFORM, name: 'Meross' };
    const listed = new Set();
    for (const entry of Array.isArray(block.devices) ? block.devices : []) {
      if (!entry || typeof entry !== 'object') continue;
      const uuid = typeof entry.uuid === 'string' && /^[0-9a-zA-Z]{32}$/.test(entry.uuid.trim()) ? entry.uuid.trim() : '';
      const host = typeof entry.host === 'string' ? entry.host.trim() : '';
      if (!uuid && !host) continue;
      const row = rowFor(uuid, host);
      row.entry = entry;
      row.selected = true;
      if (host) row.host = host;
      if (typeof entry.name === 'string' && entry.name.trim()) row.name = entry.name.trim();
      const key = typeof entry.key === 'string' && entry.key !== '' ? entry.key : undefined;
      if (key !== undefined) row.key = key;
      listed.add(row.id);
    }
    for (const row of rows.values()) {
      if (!listed.has(row.id)) {
        row.selected = false;
        row.entry = null;
      }
    }
  }

  function applyAccount(a) {
    account = a;
    for (const d of a.devices) {
      const row = rowFor(d.uuid);
      if (!row.name) row.name = d.name;
      if (!row.model) row.model = d.type || '';
      if (!row.firmware) row.firmware = d.firmware || '';
      if (row.key === undefined) row.key = a.key;
    }
  }

  function applyScan(plugs) {
    const seen = new Set();
    for (const p of plugs) {
      const row = rowFor(p.uuid, p.host);
      row.host = p.host;
      row.online = true;
      row.keyOk = p.keyOk;
      if (p.model) row.model = p.model;
      if (p.firmware) row.firmware = p.firmware;
      if (p.keyOk) row.key = p.key;
      seen.add(row.id);
    }
    for (const row of rows.values()) if (!seen.has(row.id)) row.online = false;
  }

  /** Every key the page knows: a scan tries each (the server reports which one a plug accepted). */
  function knownKeys() {
    const keys = [];
    if (account) keys.push(account.key);
    if (typeof block.key === 'string') keys.push(block.key);
    for (const row of rows.values()) if (row.key !== undefined) keys.push(row.key);
    return keys.filter((k) => typeof k === 'string' && k !== '');
  }

  function subnetList() {
    return $('subnets').value.split(/[\s,;]+/).filter((s) => s !== '');
  }

  /** The platform block as the rows, the Subnets/Port fields and the cloud box say; unknown fields are kept. */
  function buildBlock() {
    const next = { ...block, platform: PLATFORM, name: typeof block.name === 'string' && block.name.trim() ? block.name : 'Meross' };
    next.devices = [...rows.values()]
      .filter((row) => row.selected)
      .map((row) => {
        const entry = { ...(row.entry || {}) };
        const name = row.name.trim();
        for (const [field, value] of [['name', name], ['host', row.host], ['uuid', row.uuid], ['key', row.key]]) {
          if (typeof value === 'string' && value !== '') entry[field] = value;
          else delete entry[field];
        }
        return entry;
      });

    const discovery = { ...(block.discovery || {}) };
    const subnets = subnetList();
    // The defaults are not written down: they follow the host (or MEROSS_LAN_SUBNETS) on their own.
    if (subnets.join(',') !== defaultSubnets.join(',') || Array.isArray(discovery.subnets)) discovery.subnets = subnets;
    const port = Number($('port').value);
    if (Number.isInteger(port) && port >= 1 && port <= 65535 && (port !== 80 || discovery.port !== undefined)) discovery.port = port;
    if (Object.keys(discovery).length > 0) next.discovery = discovery;
    else delete next.discovery;

    // The password is never written: the server keeps the sign-in token in the plugin's storage folder instead.
    // A password the user typed into the schema form stays theirs, but only with the email it belongs to.
    const cloud = { ...(block.cloud || {}) };
    if (!$('cloud-auto').checked) {
      delete cloud.email;
      delete cloud.password;
    } else if (account && cloud.email !== account.email) {
      cloud.email = account.email;
      delete cloud.password;
    }
    if (Object.keys(cloud).length > 0) next.cloud = cloud;
    else delete next.cloud;
    return next;
  }

  /** Hands the block to the dialog, in order, so its own Save button and the schema form always see it. */
  function push() {
    block = buildBlock();
    const snapshot = block;
    pushing = pushing.then(() => hb.updatePluginConfig([snapshot, ...others])).catch((e) => show('save-message', 'error', messageOf(e)));
    return pushing;
  }

  // ---------- view ----------

  function show(id, kind, text) {
    const el = $(id);
    el.textContent = text;
    el.className = `message mt-2 ${kind === 'error' ? 'text-danger' : kind === 'ok' ? 'text-success' : 'text-muted'}`;
    // Errors interrupt a screen reader; progress and success wait their turn.
    el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  }

  const messageOf = (e) => (e && typeof e.message === 'string' ? e.message : String(e));
  const label = (row) => row.name || row.host || row.uuid;
  const yesNo = (v, no) => (v === null ? '–' : v ? 'yes' : no);

  function cell(tr, content, className) {
    const td = document.createElement('td');
    if (className) td.className = className;
    if (content instanceof Node) td.append(content);
    else td.textContent = content;
    tr.append(td);
    return td;
  }

  function render() {
    const tbody = $('rows');
    tbody.replaceChildren();
    let i = 0;
    for (const row of rows.values()) {
      i++;
      const tr = document.createElement('tr');
      tr.dataset.uuid = row.uuid;
      tr.dataset.host = row.host;

      const box = document.createElement('input');
      box.type = 'checkbox';
      box.className = 'form-check-input';
      box.id = `use-${i}`;
      box.checked = row.selected;
      box.addEventListener('change', () => {
        row.selected = box.checked;
        void push();
      });
      const boxLabel = document.createElement('label');
      boxLabel.htmlFor = box.id;
      boxLabel.className = 'visually-hidden';
      boxLabel.textContent = `Use ${label(row)}`;
      const use = document.createElement('span');
      use.append(box, boxLabel);
      cell(tr, use);

      const name = document.createElement('input');
      name.type = 'text';
      name.className = 'form-control form-control-sm';
      name.value = row.name;
      name.placeholder = row.model ? `Meross ${row.model}` : 'Name';
      name.setAttribute('aria-label', `Name for ${row.host || row.uuid}`);
      name.addEventListener('change', () => {
        row.name = name.value.trim();
        boxLabel.textContent = `Use ${label(row)}`;
        void push();
      });
      cell(tr, name);
      cell(tr, row.host || 'not found yet', row.host ? 'mono' : 'text-muted');
      cell(tr, row.uuid || 'unknown', 'mono small uuid');
      cell(tr, row.model ? row.model.toUpperCase() : '–');
      cell(tr, row.firmware || '–');
      cell(tr, yesNo(row.online, 'not found'), row.online === false ? 'text-warning' : '');
      cell(tr, yesNo(row.keyOk, 'key needed'), row.keyOk === false ? 'text-danger' : '');

      const test = document.createElement('button');
      test.type = 'button';
      test.className = 'btn btn-sm btn-outline-secondary';
      test.textContent = 'Test';
      test.setAttribute('aria-label', `Test ${label(row)}`);
      test.disabled = !row.host;
      test.title = row.host ? 'Read its state and power now' : 'Find the plug on the network first';
      test.addEventListener('click', () => void testPlug(row));
      cell(tr, test);
      tbody.append(tr);
      if (row.test) tbody.append(testRow(row));
    }
    $('empty').hidden = rows.size > 0;
    $('cloud-auto').disabled = !account && !(block.cloud && block.cloud.email);
  }

  /** The Test result under a plug's row, with the guarded switch. */
  function testRow(row) {
    const tr = document.createElement('tr');
    tr.className = 'test-result';
    const td = document.createElement('td');
    td.colSpan = 9;
    const t = row.test;
    const text = document.createElement('span');
    text.setAttribute('role', t.error ? 'alert' : 'status');
    text.className = t.error ? 'text-danger' : '';
    td.append(text);
    if (t.busy) text.textContent = `${label(row)}: asking the plug…`;
    else if (t.error) text.textContent = `${label(row)}: ${t.error}`;
    else {
      const power = typeof t.watts === 'number' ? ` · ${t.watts.toFixed(1)} W · ${t.volts.toFixed(1)} V · ${t.amps.toFixed(2)} A` : '';
      text.textContent = `${label(row)} answers: ${t.on ? 'on' : 'off'}${power}. `;
      const wanted = !t.on;
      if (!t.confirm) {
        const ask = button(`Switch ${wanted ? 'on' : 'off'}…`, 'btn-outline-secondary', () => {
          t.confirm = true;
          render();
        });
        td.append(ask);
      } else {
        const warn = document.createElement('span');
        warn.className = 'text-warning ms-1';
        warn.textContent = wanted
          ? `Switch “${label(row)}” on? Whatever is plugged in starts.`
          : `Switch “${label(row)}” off? Whatever is plugged in (a fridge, a computer) loses power.`;
        td.append(
          warn,
          button(`Yes, switch ${wanted ? 'on' : 'off'}`, 'btn-danger ms-2', () => void switchPlug(row, wanted)),
          button('Cancel', 'btn-link', () => {
            t.confirm = false;
            render();
          }),
        );
      }
    }
    tr.append(td);
    return tr;
  }

  function button(text, classes, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = `btn btn-sm ${classes}`;
    b.textContent = text;
    b.addEventListener('click', onClick);
    return b;
  }

  function showAccount() {
    $('account').hidden = !account;
    $('signin').hidden = !!account;
    if (!account) return;
    $('account-email').textContent = account.email;
    const n = account.devices.length;
    $('account-count').textContent = `${n} device${n === 1 ? '' : 's'} on the account`;
  }

  // ---------- actions ----------

  async function busy(buttonId, fn) {
    const b = $(buttonId);
    b.disabled = true;
    try {
      return await fn();
    } finally {
      b.disabled = false;
    }
  }

  async function signIn(event) {
    event.preventDefault();
    const mfaShown = !$('mfa-group').hidden;
    const body = {
      email: $('email').value,
      password: $('password').value,
      mfaCode: mfaShown ? $('mfa').value : undefined,
      url: block.cloud && typeof block.cloud.url === 'string' ? block.cloud.url : undefined,
    };
    show('signin-message', 'info', 'Signing in…');
    await busy('signin-button', async () => {
      try {
        const result = await hb.request('/sign-in', body);
        $('password').value = '';
        $('mfa').value = '';
        $('mfa-group').hidden = true;
        applyAccount({ email: result.email, key: result.key, devices: result.devices });
        showAccount();
        const where = result.region ? ` Your account lives in another region (${result.region}); signed in there.` : '';
        show('signin-message', 'ok', `Signed in.${where} Now press Find plugs to find your plugs on the network.`);
        render();
        void push();
      } catch (e) {
        const code = e && e.error ? e.error.code : undefined;
        const field = e && e.error ? e.error.field : undefined;
        if (code === 'MFA_REQUIRED' || code === 'WRONG_MFA_CODE') {
          $('mfa-group').hidden = false;
          $('mfa').value = '';
        }
        show('signin-message', 'error', messageOf(e));
        const focus = { mfa: 'mfa', password: 'password', email: 'email' }[field];
        if (focus) $(focus).focus();
      }
    });
  }

  async function find() {
    const subnets = subnetList();
    show('find-message', 'info', `Looking for plugs in ${subnets.join(', ') || 'this network'}…`);
    await busy('find', async () => {
      try {
        const result = await hb.request('/find', { subnets: subnets.join(','), port: $('port').value, keys: knownKeys() });
        applyScan(result.plugs);
        const needKey = result.plugs.filter((p) => !p.keyOk).length;
        const n = result.plugs.length;
        show(
          'find-message',
          'ok',
          `Found ${n} plug${n === 1 ? '' : 's'} in ${result.scanned.join(', ')} (${result.addresses} addresses, ${result.seconds.toFixed(1)} s).` +
            (needKey ? ` ${needKey} need${needKey === 1 ? 's' : ''} a key: sign in, or enter it in the Add row with its address.` : '') +
            (n ? ' Tick the plugs to show in Apple Home, then Save.' : ''),
        );
        render();
        void push();
      } catch (e) {
        show('find-message', 'error', messageOf(e));
      }
    });
  }

  async function add() {
    const host = $('add-host').value.trim();
    const key = $('add-key').value;
    await busy('add', async () => {
      try {
        const result = await hb.request('/add', { host, key, keys: knownKeys() });
        const row = rowFor(result.uuid, result.host);
        row.host = result.host;
        row.online = result.online;
        row.selected = true;
        if (result.online) {
          row.keyOk = result.keyOk;
          if (result.model) row.model = result.model;
          if (result.firmware) row.firmware = result.firmware;
        }
        row.key = result.keyOk ? result.key : key || row.key;
        if (!result.online) show('add-message', 'error', `Nothing answers at ${result.host}. Added it anyway; check the address and that the plug is powered.`);
        else if (!result.keyOk) show('add-message', 'error', `The plug at ${result.host} rejected this key. Added it; enter the right key and press Add again.`);
        else show('add-message', 'ok', `Added the ${(result.model || 'Meross').toUpperCase()} at ${result.host}.`);
        $('add-host').value = '';
        $('add-key').value = '';
        render();
        void push();
      } catch (e) {
        show('add-message', 'error', messageOf(e));
      }
    });
  }

  async function testPlug(row) {
    row.test = { busy: true };
    render();
    try {
      const r = await hb.request('/test', { host: row.host, key: row.key || '', uuid: row.uuid });
      row.test = r;
      row.online = true;
      row.keyOk = true;
    } catch (e) {
      row.test = { error: messageOf(e) };
    }
    render();
  }

  async function switchPlug(row, on) {
    row.test = { busy: true };
    render();
    try {
      await hb.request('/switch', { host: row.host, key: row.key || '', uuid: row.uuid, on, confirm: true });
      row.test = await hb.request('/test', { host: row.host, key: row.key || '', uuid: row.uuid });
    } catch (e) {
      row.test = { error: messageOf(e) };
    }
    render();
  }

  async function save() {
    await busy('save', async () => {
      try {
        await push();
        await hb.updatePluginConfig([block, ...others]);
        await hb.savePluginConfig();
        const n = block.devices.length;
        const keyless = [...rows.values()].filter((r) => r.selected && r.keyOk === false).map(label);
        show(
          'save-message',
          keyless.length ? 'error' : 'ok',
          `Saved ${n} plug${n === 1 ? '' : 's'}. Restart Homebridge to apply.` + (keyless.length ? ` Still without a working key: ${keyless.join(', ')}.` : ''),
        );
        hb.toast.success(`Saved ${n} plug${n === 1 ? '' : 's'}. Restart Homebridge to apply.`, 'Meross LAN');
      } catch (e) {
        show('save-message', 'error', `Not saved: ${messageOf(e)}`);
      }
    });
  }

  function toggleForm() {
    schemaShown = !schemaShown;
    if (schemaShown) hb.showSchemaForm();
    else hb.hideSchemaForm();
    $('toggle-form').textContent = schemaShown ? 'Hide all settings' : 'Show all settings';
  }

  async function init() {
    $('signin').addEventListener('submit', (e) => void signIn(e));
    $('switch-account').addEventListener('click', () => {
      $('signin').hidden = false;
      $('email').value = account ? account.email : '';
      $('password').focus();
    });
    $('find').addEventListener('click', () => void find());
    $('add').addEventListener('click', () => void add());
    $('save').addEventListener('click', () => void save());
    $('toggle-form').addEventListener('click', toggleForm);
    $('cloud-auto').addEventListener('change', () => void push());
    for (const id of ['subnets', 'port']) $(id).addEventListener('change', () => void push());
    // The schema form's edits (including removals) arrive here.
    hb.addEventListener('configChanged', (event) => {
      if (Array.isArray(event.data)) others = event.data.slice(1);
      loadConfig(Array.isArray(event.data) ? event.data[0] : undefined);
      fillFields();
      render();
    });

    const [configs, state] = await Promise.all([hb.getPluginConfig(), hb.request('/state')]);
    defaultSubnets = state.subnets;
    others = configs.slice(1);
    loadConfig(configs[0]);
    if (state.account) applyAccount(state.account);
    fillFields();
    showAccount();
    render();
  }

  function fillFields() {
    const d = block.discovery || {};
    $('subnets').value = (Array.isArray(d.subnets) && d.subnets.length > 0 ? d.subnets : defaultSubnets).join(', ');
    $('port').value = String(d.port || 80);
    $('cloud-auto').checked = !!(block.cloud && block.cloud.email);
    if (block.cloud && block.cloud.email && !$('email').value) $('email').value = block.cloud.email;
  }

  init().catch((e) => show('save-message', 'error', `The settings page could not start: ${messageOf(e)}`));
})();
