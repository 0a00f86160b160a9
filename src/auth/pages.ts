/**
 * Server-rendered pages of the authorization server (sign-in, patient choice and approval, errors), built for
 * WCAG 2.1 AA: a `lang` attribute, one h1, labelled fields, errors listed in an alert summary and tied to their
 * fields (aria-describedby, aria-invalid), DOM order = focus order, visible focus and contrast above 7:1.
 */
import type { Language } from './auth-records';
import { pageTexts, type PageTexts } from './page-texts';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:1.05rem;line-height:1.5;color:#1a1a1a;background:#fff;margin:0}
main{max-width:36rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 1rem}
label,legend{display:block;font-weight:600;margin:1rem 0 .25rem}
input[type=text],input[type=password],textarea{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;border:2px solid #4a4a4a;border-radius:4px;font-family:inherit}
.warning{border:3px solid #b35c00;background:#fff4e5;padding:.75rem 1rem;margin:0 0 1rem}
.warning h2{font-size:1.1rem;margin:0 0 .5rem}
fieldset{border:0;padding:0;margin:1rem 0}
.option{display:flex;gap:.5rem;align-items:flex-start;margin:.4rem 0}
.option label{display:inline;font-weight:400;margin:0}
.hint{color:#3d3d3d;margin:.25rem 0}
.error{color:#a00000;font-weight:600;margin:.25rem 0}
.summary{border:3px solid #a00000;padding:.75rem 1rem;margin:0 0 1rem}
.summary h2{font-size:1.1rem;margin:0 0 .5rem}
.summary a{color:#a00000}
[aria-invalid=true]{border-color:#a00000!important}
button{font-size:1rem;padding:.6rem 1.2rem;border-radius:4px;border:2px solid #0b4a8b;margin:1rem .5rem 0 0;cursor:pointer}
button.primary{background:#0b4a8b;color:#fff}
button.secondary{background:#fff;color:#0b4a8b}
:focus-visible{outline:3px solid #b35c00;outline-offset:2px}
`;

function layout(language: Language, title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

export interface FieldError {
  /** The id of the field the error belongs to. */
  readonly field: string;
  readonly message: string;
}

function errorSummary(t: PageTexts, errors: readonly FieldError[]): string {
  if (errors.length === 0) return '';
  const items = errors.map((e) => `<li><a href="#${e.field}">${escapeHtml(e.message)}</a></li>`).join('');
  return `<div class="summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1"><h2 id="error-summary-title">${escapeHtml(t.errorSummary)}</h2><ul>${items}</ul></div>`;
}

function fieldError(errors: readonly FieldError[], field: string): { attrs: string; html: string } {
  const error = errors.find((e) => e.field === field);
  if (!error) return { attrs: '', html: '' };
  return { attrs: ` aria-invalid="true" aria-describedby="${field}-error"`, html: `<p class="error" id="${field}-error">${escapeHtml(error.message)}</p>` };
}

export interface LoginPage {
  readonly language: Language;
  readonly action: string;
  readonly csrf: string;
  readonly appName: string;
  readonly username?: string;
  readonly errors: readonly FieldError[];
  /** The request asks for emergency access (break the glass). */
  readonly emergency?: boolean;
}

export interface ReauthenticationPage {
  readonly language: Language;
  readonly action: string;
  readonly csrf: string;
  readonly appName: string;
  /** The signed-in person, who must enter their password again. */
  readonly userName: string;
  readonly errors: readonly FieldError[];
}

/** Emergency access with a live session: the signed-in person enters their password again (no other account). */
export function renderReauthenticationPage(page: ReauthenticationPage): string {
  const t = pageTexts(page.language);
  const password = fieldError(page.errors, 'password');
  const body = `<h1>${escapeHtml(t.reauthTitle)}</h1>
${errorSummary(t, page.errors)}
<p>${escapeHtml(t.reauthLead(page.appName, page.userName))}</p>
<form method="post" action="${escapeHtml(page.action)}" novalidate>
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
<label for="password">${escapeHtml(t.password)}</label>
${password.html}<input type="password" id="password" name="password" autocomplete="current-password" required${password.attrs} autofocus>
<button type="submit" class="primary">${escapeHtml(t.confirm)}</button>
</form>`;
  return layout(page.language, t.reauthTitle, body);
}

export function renderLoginPage(page: LoginPage): string {
  const t = pageTexts(page.language);
  const user = fieldError(page.errors, 'username');
  const password = fieldError(page.errors, 'password');
  const focusUsername = page.errors.length === 0 || page.errors[0]?.field === 'username';
  const body = `<h1>${escapeHtml(t.signInTitle)}</h1>
${errorSummary(t, page.errors)}
<p>${escapeHtml(t.signInLead(page.appName))}</p>
${page.emergency ? `<p><strong>${escapeHtml(t.emergencySignInLead)}</strong></p>\n` : ''}<form method="post" action="${escapeHtml(page.action)}" novalidate>
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
<label for="username">${escapeHtml(t.username)}</label>
${user.html}<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${escapeHtml(page.username ?? '')}"${user.attrs}${focusUsername ? ' autofocus' : ''}>
<label for="password">${escapeHtml(t.password)}</label>
${password.html}<input type="password" id="password" name="password" autocomplete="current-password" required${password.attrs}${focusUsername ? '' : ' autofocus'}>
<button type="submit" class="primary">${escapeHtml(t.signIn)}</button>
</form>`;
  return layout(page.language, t.signInTitle, body);
}

export interface PatientChoice {
  readonly id: string;
  readonly label: string;
}

export interface ApprovalPage {
  readonly language: Language;
  readonly action: string;
  readonly abortAction: string;
  readonly csrf: string;
  readonly appName: string;
  readonly userName: string;
  /** The patients to choose from (standalone launch/patient by staff); undefined when no choice is needed. */
  readonly patients?: readonly PatientChoice[];
  /** The fixed patient of the context (EHR launch or a patient's own record). */
  readonly fixedPatient?: { readonly label: string; readonly own: boolean };
  readonly scopes: readonly { readonly value: string; readonly label: string }[];
  readonly errors: readonly FieldError[];
  /** An emergency access: the page warns, and asks for the purpose and the reason. */
  readonly breakGlass?: BreakGlassForm;
}

export interface BreakGlassForm {
  /** The token lifetime, in seconds. */
  readonly seconds: number;
  readonly purposes: readonly { readonly code: string; readonly label: string }[];
  readonly reasonLength: { readonly min: number; readonly max: number };
  /** What the person entered (shown again with the errors). */
  readonly purpose?: string;
  readonly reason?: string;
}

function breakGlassFields(t: PageTexts, form: BreakGlassForm, errors: readonly FieldError[]): string {
  const purpose = fieldError(errors, 'purpose');
  const reason = fieldError(errors, 'reason');
  const options = form.purposes
    .map((p, i) => {
      const id = i === 0 ? 'purpose' : `purpose-${i}`;
      return `<div class="option"><input type="radio" name="purpose" id="${id}" value="${escapeHtml(p.code)}" required${form.purpose === p.code ? ' checked' : ''}><label for="${id}">${escapeHtml(p.label)} <code>${escapeHtml(p.code)}</code></label></div>`;
    })
    .join('\n');
  return `<fieldset aria-describedby="purpose-hint${purpose.html ? ' purpose-error' : ''}"${purpose.html ? ' aria-invalid="true"' : ''}>
<legend>${escapeHtml(t.purpose)}</legend>
<p class="hint" id="purpose-hint">${escapeHtml(t.purposeHint)}</p>
${purpose.html}${options}
</fieldset>
<label for="reason">${escapeHtml(t.reason)}</label>
<p class="hint" id="reason-hint">${escapeHtml(t.reasonHint(form.reasonLength.min, form.reasonLength.max))}</p>
${reason.html}<textarea id="reason" name="reason" rows="4" minlength="${form.reasonLength.min}" maxlength="${form.reasonLength.max}" required aria-describedby="reason-hint${reason.html ? ' reason-error' : ''}"${reason.html ? ' aria-invalid="true"' : ''}>${escapeHtml(form.reason ?? '')}</textarea>`;
}

export function renderApprovalPage(page: ApprovalPage): string {
  const t = pageTexts(page.language);
  const emergency = page.breakGlass;
  let patientPart = '';
  if (page.fixedPatient) {
    patientPart = `<p><strong>${escapeHtml(page.fixedPatient.own ? t.yourRecord(page.fixedPatient.label) : t.launchPatient(page.fixedPatient.label))}</strong></p>`;
  } else if (page.patients) {
    const error = fieldError(page.errors, 'patient');
    const options =
      page.patients.length === 0
        ? `<p id="patient">${escapeHtml(t.noPatients)}</p>`
        : page.patients
            .map((p, i) => `<div class="option"><input type="radio" name="patient" id="${i === 0 ? 'patient' : `patient-${i}`}" value="${escapeHtml(p.id)}" required><label for="${i === 0 ? 'patient' : `patient-${i}`}">${escapeHtml(p.label)}</label></div>`)
            .join('\n');
    patientPart = `<fieldset aria-describedby="patient-hint${error.html ? ' patient-error' : ''}"${error.html ? ' aria-invalid="true"' : ''}>
<legend>${escapeHtml(emergency ? t.breakGlassPatient : t.choosePatient)}</legend>
<p class="hint" id="patient-hint">${escapeHtml(emergency ? t.breakGlassPatientHint : t.choosePatientHint)}</p>
${error.html}${options}
</fieldset>`;
  }
  const scopes = page.scopes
    .map((s, i) => `<div class="option"><input type="checkbox" name="scope" id="scope-${i}" value="${escapeHtml(s.value)}" checked><label for="scope-${i}">${escapeHtml(s.label)} <code>${escapeHtml(s.value)}</code></label></div>`)
    .join('\n');
  const title = emergency ? t.breakGlassTitle : t.approveTitle;
  const lead = emergency
    ? `<div class="warning" role="note" aria-labelledby="warning-title"><h2 id="warning-title">${escapeHtml(t.breakGlassWarningTitle)}</h2><p>${escapeHtml(t.breakGlassWarning(page.appName, page.userName, t.duration(emergency.seconds)))}</p></div>`
    : `<p>${escapeHtml(t.approveLead(page.appName, page.userName))}</p>`;
  const body = `<h1>${escapeHtml(title)}</h1>
${errorSummary(t, page.errors)}
${lead}
<form method="post" action="${escapeHtml(page.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
${patientPart}
${emergency ? `${breakGlassFields(t, emergency, page.errors)}\n` : ''}<fieldset aria-describedby="scopes-hint">
<legend>${escapeHtml(t.permissions)}</legend>
<p class="hint" id="scopes-hint">${escapeHtml(t.permissionsHint)}</p>
${scopes}
</fieldset>
<button type="submit" class="primary">${escapeHtml(emergency ? t.startBreakGlass : t.allow)}</button>
<button type="submit" class="secondary" formnovalidate formaction="${escapeHtml(page.abortAction)}">${escapeHtml(emergency ? t.cancel : t.deny)}</button>
</form>`;
  return layout(page.language, title, body);
}

export interface PolicyPage {
  readonly language: Language;
  readonly action: string;
  readonly csrf: string;
  readonly userName: string;
  readonly version: { readonly id: string; readonly number: number; readonly title: string; readonly text: string; readonly publishedAt: Date };
  /** The account's latest answer to this version was no. */
  readonly declinedBefore: boolean;
  readonly errors: readonly FieldError[];
}

/**
 * An organization's terms of use and privacy policy, with Accept and Decline (seed 000 5.4). The text is a labelled
 * region of paragraphs (blank lines separate them); the two answers are the form's two submit buttons.
 */
export function renderPolicyPage(page: PolicyPage): string {
  const t = pageTexts(page.language);
  const decision = fieldError(page.errors, 'decision');
  const paragraphs = page.version.text
    .split(/\n\s*\n/)
    .map((paragraph) => `<p>${escapeHtml(paragraph.trim()).replace(/\n/g, '<br>')}</p>`)
    .join('\n');
  const body = `<h1>${escapeHtml(page.version.title)}</h1>
${errorSummary(t, page.errors)}
<p>${escapeHtml(t.policyLead(page.userName, page.version.number, page.version.publishedAt.toISOString().slice(0, 10)))}</p>
${page.declinedBefore ? `<p><strong>${escapeHtml(t.policyDeclinedBefore)}</strong></p>\n` : ''}<section aria-labelledby="policy-text-title">
<h2 id="policy-text-title">${escapeHtml(t.policyText)}</h2>
${paragraphs}
</section>
<form method="post" action="${escapeHtml(page.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
<input type="hidden" name="version" value="${escapeHtml(page.version.id)}">
<fieldset id="decision" aria-describedby="decision-hint${decision.html ? ' decision-error' : ''}"${decision.html ? ' aria-invalid="true"' : ''}>
<legend>${escapeHtml(t.policyDecision)}</legend>
<p class="hint" id="decision-hint">${escapeHtml(t.policyDeclineHint)}</p>
${decision.html}<button type="submit" class="primary" name="decision" value="accept">${escapeHtml(t.accept)}</button>
<button type="submit" class="secondary" name="decision" value="decline">${escapeHtml(t.decline)}</button>
</fieldset>
</form>`;
  return layout(page.language, page.version.title, body);
}

export function renderErrorPage(language: Language, error: string, description: string | undefined): string {
  const t = pageTexts(language);
  const body = `<h1>${escapeHtml(t.errorTitle)}</h1>
<p>${escapeHtml(t.errorLead)}</p>
<p><code>${escapeHtml(error)}</code>${description ? `: ${escapeHtml(description)}` : ''}</p>`;
  return layout(language, t.errorTitle, body);
}

/** The label of a scope for the approval page. */
export function describeScope(t: PageTexts, scope: string, resource?: { context: string; resourceType: string; letters: string; query?: string }): string {
  if (!resource) return t.scopeLabels[scope] ?? scope;
  const access = [...resource.letters].map((l) => t.letters[l]).join(', ');
  return t.resourceScope(access.charAt(0).toUpperCase() + access.slice(1), resource.resourceType, t.contexts[resource.context] ?? '', resource.query);
}
