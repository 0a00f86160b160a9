/**
 * The texts of the pages people see at the authorization server, in English and Spanish (DESIGN.md "Contracts":
 * messages people read come in both; seed 000 section 5.2). One table, so a missing translation is a type error.
 */
import type { Language } from './auth-records';

const en = {
  signInTitle: 'Sign in',
  signInLead: (app: string) => `Sign in to let ${app} use your health records.`,
  username: 'Username',
  password: 'Password',
  signIn: 'Sign in',
  badCredentials: 'The username or password is not correct.',
  usernameRequired: 'Enter your username.',
  passwordRequired: 'Enter your password.',
  throttled: (minutes: number) => `Too many failed sign-in attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
  errorSummary: 'There is a problem',
  approveTitle: 'Allow access',
  approveLead: (app: string, user: string) => `${app} asks for access. You are signed in as ${user}.`,
  choosePatient: 'Choose the patient',
  choosePatientHint: 'The app will see data of this patient only.',
  patientRequired: 'Choose a patient.',
  noPatients: 'There are no patients you may choose.',
  yourRecord: (name: string) => `Your own record: ${name}`,
  launchPatient: (name: string) => `Patient: ${name}`,
  permissions: 'Permissions the app asks for',
  permissionsHint: 'Clear a box to refuse that permission.',
  allow: 'Allow',
  deny: 'Deny',
  errorTitle: 'The request cannot be completed',
  errorLead: 'The application sent a request this server cannot accept.',
  scopeLabels: {
    openid: 'Confirm who you are',
    fhirUser: 'Know which user record is yours',
    profile: 'See your name',
    launch: 'Use the context the EHR launched it with',
    'launch/patient': 'Know which patient is selected',
    'launch/encounter': 'Know which encounter is selected',
    offline_access: 'Keep access when you are not using it (until you revoke it)',
    online_access: 'Keep access while you are signed in',
    'admin:clients': 'Register client applications for your organization',
    'ehr:launch': 'Launch applications for your patients',
    'notifications:inbox': 'Read your notifications',
    'notifications:admin': "Send your organization's notifications and read, export and retry its notification log",
  } as Record<string, string>,
  resourceScope: (access: string, type: string, who: string, query?: string) => `${access} ${type === '*' ? 'all data' : type} ${who}${query ? ` (only ${query})` : ''}`,
  contexts: { patient: 'of the selected patient', user: 'you can access', system: 'of the organization' } as Record<string, string>,
  letters: { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' } as Record<string, string>,
};

const es: typeof en = {
  signInTitle: 'Iniciar sesión',
  signInLead: (app) => `Inicie sesión para que ${app} pueda usar sus datos de salud.`,
  username: 'Nombre de usuario',
  password: 'Contraseña',
  signIn: 'Iniciar sesión',
  badCredentials: 'El nombre de usuario o la contraseña no son correctos.',
  usernameRequired: 'Escriba su nombre de usuario.',
  passwordRequired: 'Escriba su contraseña.',
  throttled: (minutes) => `Demasiados intentos fallidos. Vuelva a intentarlo en ${minutes} minuto${minutes === 1 ? '' : 's'}.`,
  errorSummary: 'Hay un problema',
  approveTitle: 'Permitir el acceso',
  approveLead: (app, user) => `${app} solicita acceso. Ha iniciado sesión como ${user}.`,
  choosePatient: 'Elija el paciente',
  choosePatientHint: 'La aplicación verá solo los datos de este paciente.',
  patientRequired: 'Elija un paciente.',
  noPatients: 'No hay pacientes que pueda elegir.',
  yourRecord: (name) => `Su propio expediente: ${name}`,
  launchPatient: (name) => `Paciente: ${name}`,
  permissions: 'Permisos que solicita la aplicación',
  permissionsHint: 'Desmarque una casilla para rechazar ese permiso.',
  allow: 'Permitir',
  deny: 'Rechazar',
  errorTitle: 'No se puede completar la solicitud',
  errorLead: 'La aplicación envió una solicitud que este servidor no puede aceptar.',
  scopeLabels: {
    openid: 'Confirmar su identidad',
    fhirUser: 'Saber cuál es su registro de usuario',
    profile: 'Ver su nombre',
    launch: 'Usar el contexto con el que la abrió la historia clínica',
    'launch/patient': 'Saber qué paciente está seleccionado',
    'launch/encounter': 'Saber qué encuentro está seleccionado',
    offline_access: 'Mantener el acceso cuando no la usa (hasta que lo revoque)',
    online_access: 'Mantener el acceso mientras tenga la sesión iniciada',
    'admin:clients': 'Registrar aplicaciones cliente de su organización',
    'ehr:launch': 'Abrir aplicaciones para sus pacientes',
    'notifications:inbox': 'Leer sus notificaciones',
    'notifications:admin': 'Enviar las notificaciones de su organización y leer, exportar y reintentar su registro de notificaciones',
  },
  resourceScope: (access, type, who, query) => `${access} ${type === '*' ? 'todos los datos' : type} ${who}${query ? ` (solo ${query})` : ''}`,
  contexts: { patient: 'del paciente seleccionado', user: 'a los que usted tiene acceso', system: 'de la organización' },
  letters: { c: 'crear', r: 'leer', u: 'modificar', d: 'eliminar', s: 'buscar' },
};

export type PageTexts = typeof en;

export function pageTexts(language: Language): PageTexts {
  return language === 'es' ? es : en;
}
