//! URL routing with Werkzeug's rules (in progress).
