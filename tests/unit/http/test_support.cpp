#include "test_support.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "http/message.h"

namespace tessera::http::testing {

namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

PkeyPtr new_key() {
  PkeyPtr key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  return key;
}

std::string key_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string cert_pem(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) throw std::runtime_error("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509Ptr new_cert(std::string_view cn, EVP_PKEY* subject_key) {
  X509Ptr cert(X509_new(), &X509_free);
  X509_set_version(cert.get(), 2);
  unsigned char serial[8];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), subject_key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(std::string(cn).c_str()), -1,
                             -1, 0);
  return cert;
}

}  // namespace

struct TestPki::Keys {
  PkeyPtr ca_key{nullptr, &EVP_PKEY_free};
  X509Ptr ca_cert{nullptr, &X509_free};
};

TestPki::TestPki(std::string_view ca_name) : keys_(std::make_unique<Keys>()) {
  keys_->ca_key = new_key();
  keys_->ca_cert = new_cert(ca_name, keys_->ca_key.get());
  X509* ca = keys_->ca_cert.get();
  X509_set_issuer_name(ca, X509_get_subject_name(ca));
  add_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca, ca, NID_subject_key_identifier, "hash");
  X509_sign(ca, keys_->ca_key.get(), EVP_sha256());
  ca_.certificate = cert_pem(ca);
  ca_.private_key = key_pem(keys_->ca_key.get());
}

TestPki::~TestPki() = default;

Pem TestPki::issue(std::string_view common_name, std::string_view san, bool client) const {
  PkeyPtr key = new_key();
  X509Ptr cert = new_cert(common_name, key.get());
  X509* ca = keys_->ca_cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca));
  add_ext(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), ca, NID_ext_key_usage, client ? "clientAuth" : "serverAuth");
  add_ext(cert.get(), ca, NID_authority_key_identifier, "keyid:always");
  if (!san.empty()) add_ext(cert.get(), ca, NID_subject_alt_name, std::string(san));
  X509_sign(cert.get(), keys_->ca_key.get(), EVP_sha256());
  return {cert_pem(cert.get()), key_pem(key.get())};
}

Pem TestPki::issue_server(std::string_view subject_alt_names) const {
  return issue("server", subject_alt_names, false);
}

Pem TestPki::issue_client(std::string_view common_name, std::string_view subject_alt_names) const {
  return issue(common_name, subject_alt_names, true);
}

Pem TestPki::self_signed_client(std::string_view common_name) {
  PkeyPtr key = new_key();
  X509Ptr cert = new_cert(common_name, key.get());
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  add_ext(cert.get(), cert.get(), NID_ext_key_usage, "clientAuth");
  X509_sign(cert.get(), key.get(), EVP_sha256());
  return {cert_pem(cert.get()), key_pem(key.get())};
}

RawConnection::RawConnection(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(std::string_view bytes) {
  if (fd_ < 0) return false;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string RawConnection::read_response() {
  if (fd_ < 0) return "";
  char buf[4096];
  while (true) {
    size_t head_end = pending_.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::string head = pending_.substr(0, head_end + 4);
      std::string length = header_of(head, "Content-Length");
      size_t total = head_end + 4 + (length.empty() ? 0 : std::stoul(length));
      if (pending_.size() >= total) {
        std::string out = pending_.substr(0, total);
        pending_.erase(0, total);
        return out;
      }
    }
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return "";
    pending_.append(buf, static_cast<size_t>(n));
  }
}

std::string RawConnection::read_until_closed() {
  if (fd_ < 0) return "";
  char buf[4096];
  std::string out = std::move(pending_);
  pending_.clear();
  while (true) {
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

int status_of(std::string_view response) {
  if (response.size() < 12 || !response.starts_with("HTTP/1.")) return 0;
  return std::stoi(std::string(response.substr(9, 3)));
}

std::string body_of(std::string_view response) {
  size_t p = response.find("\r\n\r\n");
  return p == std::string_view::npos ? "" : std::string(response.substr(p + 4));
}

std::string header_of(std::string_view response, std::string_view name) {
  size_t end = response.find("\r\n\r\n");
  std::string_view head = response.substr(0, end);
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos) {
    size_t next = head.find("\r\n", pos + 2);
    std::string_view line =
        head.substr(pos + 2, next == std::string_view::npos ? head.npos : next - pos - 2);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return std::string(value);
    }
    pos = next;
  }
  return "";
}

std::string RunningServer::url(std::string_view path, bool tls) const {
  return (tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port()) +
         std::string(path);
}

RunningServer start_server(Router router, ServerOptions options) {
  RunningServer s;
  options.address = "127.0.0.1";
  options.port = 0;
  if (options.io_threads == 0) options.io_threads = 2;
  if (!options.access_log) {
    options.access_log = s.log;
  } else {
    s.log = std::dynamic_pointer_cast<MemoryAccessLog>(options.access_log);
  }
  s.server = std::make_unique<Server>(std::move(options), std::move(router));
  auto started = s.server->start();
  if (!started) throw std::runtime_error(started.error());
  s.server->set_ready(true);
  return s;
}

ScriptedServer::ScriptedServer(std::vector<Answer> script) : script_(std::move(script)) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (script_.empty() || listener_ < 0 ||
      ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener_, 8) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (listener_ >= 0) ::close(listener_);
    throw std::runtime_error("scripted server: cannot listen");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

ScriptedServer::~ScriptedServer() {
  stopping_.store(true);
  ::shutdown(listener_, SHUT_RDWR);
  {
    std::lock_guard lock(connection_mu_);
    if (connection_ >= 0) ::shutdown(connection_, SHUT_RDWR);
  }
  thread_.join();
  ::close(listener_);
}

std::string ScriptedServer::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

void ScriptedServer::serve() {
  while (!stopping_.load()) {
    const int c = ::accept(listener_, nullptr, nullptr);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    {
      std::lock_guard lock(connection_mu_);
      connection_ = c;
    }
    std::string pending;
    char buf[4096];
    bool open = true;
    while (open && !stopping_.load()) {
      const size_t head_end = pending.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const std::string length = header_of(pending.substr(0, head_end + 4), "Content-Length");
        const size_t total = head_end + 4 + (length.empty() ? 0 : std::stoul(length));
        if (pending.size() >= total) {
          pending.erase(0, total);
          const size_t n = static_cast<size_t>(requests_.fetch_add(1));
          const Answer& answer = script_[std::min(n, script_.size() - 1)];
          open = ::send(c, answer.bytes.data(), answer.bytes.size(), MSG_NOSIGNAL) >= 0;
          if (open && !answer.later.empty()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            open = ::send(c, answer.later.data(), answer.later.size(), MSG_NOSIGNAL) >= 0;
          }
          open = open && !answer.close;
          continue;
        }
      }
      const ssize_t n = ::recv(c, buf, sizeof(buf), 0);
      if (n <= 0) break;
      pending.append(buf, static_cast<size_t>(n));
    }
    std::lock_guard lock(connection_mu_);
    connection_ = -1;
    ::close(c);
  }
}

}  // namespace tessera::http::testing
