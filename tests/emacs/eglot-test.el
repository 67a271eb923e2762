;;; eglot-test.el --- spark-lsp through real eglot, run by tests/tests/emacs.rs  -*- lexical-binding: t -*-

;; Runs in `emacs --batch -q' (site files load Debian's elpa-eglot; no user init). The environment names the binary (SPARK_LSP_BIN), the reference
;; model server (SPARK_MODEL_URL), the key's variable (SPARK_E2E_KEY), a scratch directory
;; (SPARK_TEST_DIR), the test to run (SPARK_EMACS_TEST) and where to write "OK" or the failure
;; (SPARK_TEST_RESULT). The server is configured the way the README's snippet does it: one
;; `eglot-server-programs' entry per language.

(require 'eglot)
(require 'cl-lib)
(require 'python)

(defvar spark-test-result (getenv "SPARK_TEST_RESULT"))

(defun spark-test-finish (outcome)
  "Write OUTCOME to the result file and leave Emacs."
  (with-temp-file spark-test-result (insert outcome))
  (kill-emacs 0))

(defun spark-test-wait (what predicate &optional seconds)
  "Wait up to SECONDS (default 60) for PREDICATE, failing the test with WHAT."
  (let ((deadline (+ (float-time) (or seconds 60))))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (unless (funcall predicate)
      (error "timed out waiting for %s" what))))

(defun spark-test-configure ()
  "The README's snippet, pointed at the test binary and model server."
  (setq eglot-server-programs nil)
  (dolist (modes '((python-mode python-ts-mode)))
    (add-to-list 'eglot-server-programs
                 `(,modes . (,(getenv "SPARK_LSP_BIN")
                             :initializationOptions
                             (:provider (:kind "openai-chat"
                                         :baseUrl ,(getenv "SPARK_MODEL_URL")
                                         :apiKeyEnv "SPARK_E2E_KEY"
                                         :model "m")))))))

(defun spark-test-open (name text)
  "Visit NAME in the scratch directory holding TEXT, with eglot managing it."
  (let ((file (expand-file-name name (getenv "SPARK_TEST_DIR"))))
    (with-temp-file file (insert text))
    (find-file file)
    (python-mode)
    (apply #'eglot (eglot--guess-contact))
    (spark-test-wait "eglot to connect" (lambda () (eglot-current-server)))))

(defun spark-test-completion ()
  "A completion offered by spark-lsp and applied through eglot's own completion."
  (spark-test-open "a.py" "def add(a, b):\n    return \n")
  (goto-char (point-min))
  (forward-line 1)
  (end-of-line)
  ;; The one item, asked for once as eglot does, is the model's answer: completion-at-point
  ;; inserts it and eglot applies its textEdit.
  (completion-at-point)
  (save-buffer)
  (let ((text (buffer-substring-no-properties (point-min) (point-max))))
    (unless (equal text "def add(a, b):\n    return a + b\n")
      (error "the buffer after completion: %S" text))))

(defun spark-test-code-action ()
  "A code action listed by spark-lsp, picked in eglot's menu, applied by the server."
  (spark-test-open "b.py" "def add(a, b):\n    return a+b\n")
  ;; The user picks "Simplify" in eglot's menu and answers "y" when eglot asks whether the
  ;; server may edit the file (`eglot-confirm-server-initiated-edits').
  (cl-letf (((symbol-function 'y-or-n-p) (lambda (&rest _) t))
            ((symbol-function 'completing-read)
             (lambda (_prompt collection &rest _)
               (let ((titles (mapcar (lambda (c) (if (consp c) (car c) c)) collection)))
                 (or (car (member "Simplify" titles))
                     (error "no Simplify action among %S" titles))))))
    ;; A keyboard event, so that eglot offers its menu through `completing-read'.
    (let ((last-nonmenu-event ?\r))
      (eglot-code-actions (point-min) (point-max) nil t))
    (spark-test-wait "the rewrite to be applied"
                     (lambda () (string-match-p "a \\+ b" (buffer-string)))))
  (let ((text (buffer-substring-no-properties (point-min) (point-max))))
    (unless (equal text "def add(a, b):\n    return a + b\n")
      (error "the buffer after the code action: %S" text))))

(condition-case err
    (progn
      (spark-test-configure)
      (pcase (getenv "SPARK_EMACS_TEST")
        ("completion" (spark-test-completion))
        ("code-action" (spark-test-code-action))
        (name (error "unknown test %S" name)))
      (spark-test-finish "OK"))
  (error (spark-test-finish (format "FAILED: %s" (error-message-string err)))))
